"""The key pool against the emulator: refused keys are parked once, 429s move to another key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.openai import ResponsesEmulator, error, rate_limited
from tests.model.helpers import CALL, FakeClock, Prompt, make_client, make_config
from workers.failures import describe
from workers.model import review_segment
from workers.model.errors import NoUsableKey
from workers.model.limits import PARK_LISTENERS, ParkedKey
from workers.redis_server import RedisServer

PROMPT = Prompt.of("diff --git a/app.py b/app.py\n+x = 1\n")
THREE = ("sk-test-0", "sk-test-1", "sk-test-2")

Env = tuple[ResponsesEmulator, str, str]


@pytest.fixture
def env(openai_emulator: ResponsesEmulator, model_redis: RedisServer, model_prefix: str) -> Env:
    return openai_emulator, model_redis.url, model_prefix


@pytest.fixture
def parked() -> Iterator[list[ParkedKey]]:
    seen: list[ParkedKey] = []
    PARK_LISTENERS.append(seen.append)
    yield seen
    PARK_LISTENERS.remove(seen.append)


def test_a_revoked_key_among_three_is_parked_once_and_every_call_succeeds(
    env: Env, parked: list[ParkedKey]
) -> None:
    emulator, redis_url, prefix = env
    emulator.revoke("sk-test-0")
    clock = FakeClock()
    client = make_client(make_config(emulator, prefix, keys=THREE), redis_url, clock)

    reviews = [review_segment(client, PROMPT, CALL) for _ in range(6)]

    assert [r.status for r in reviews] == ["ok"] * 6
    keys = [r.key for r in emulator.requests]
    # Limits unknown everywhere, so the first call may try the revoked key: once, never again.
    assert keys.count("sk-test-0") == 1
    assert [r.status_code for r in emulator.requests].count(401) == 1
    assert [p.key_index for p in parked] == [0]
    assert parked[0].reason == "unauthorized"
    assert client.keys.parks_by_reason() == {"unauthorized": 1}
    assert [k.key_index for k in client.keys.parked_keys()] == [0]
    assert clock.sleeps == []  # moving to the next key costs no wait


def test_keys_known_to_have_capacity_rank_before_keys_with_unknown_limits(env: Env) -> None:
    emulator, redis_url, prefix = env
    client = make_client(make_config(emulator, prefix, keys=THREE), redis_url)
    review_segment(client, PROMPT, CALL)
    first = emulator.requests[0].key
    review_segment(client, PROMPT, CALL)
    # The key that answered reported its remaining capacity: it is preferred to untried ones.
    assert emulator.requests[1].key == first


def test_a_429_with_a_long_reset_moves_the_call_to_another_key_at_once(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(rate_limited(reset_tokens="20s", retry_after="20"), key="sk-test-0")
    clock = FakeClock()
    client = make_client(
        make_config(emulator, prefix, keys=("sk-test-0", "sk-test-1")), redis_url, clock
    )
    # Make key 0 the first choice: it is known to have capacity, key 1 is unknown.
    client.keys.observe(
        0, {"x-ratelimit-remaining-tokens": "900000", "x-ratelimit-reset-tokens": "1m"}
    )

    review = review_segment(client, PROMPT, CALL)

    assert review.status == "ok"
    assert [(r.key, r.status_code) for r in emulator.requests] == [
        ("sk-test-0", 429),
        ("sk-test-1", 200),
    ]
    assert clock.sleeps == []
    # The next call starts on the fresh key instead of the cooling one.
    review_segment(client, PROMPT, CALL)
    assert emulator.requests[-1].key == "sk-test-1"


def test_when_every_key_is_rate_limited_the_call_waits_the_reset(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(rate_limited(retry_after="2"), times=2)
    clock = FakeClock()
    client = make_client(
        make_config(emulator, prefix, keys=("sk-test-0", "sk-test-1")), redis_url, clock
    )
    assert review_segment(client, PROMPT, CALL).status == "ok"
    assert [r.status_code for r in emulator.requests] == [429, 429, 200]
    assert clock.sleeps == [2.0]  # one wait, once no key was fresh


def test_a_forbidden_key_is_parked_with_its_reason(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(error(403, "Project does not have access", code=None), key="sk-test-0")
    client = make_client(make_config(emulator, prefix, keys=("sk-test-0", "sk-test-1")), redis_url)
    for _ in range(3):
        assert review_segment(client, PROMPT, CALL).status == "ok"
    assert [r.key for r in emulator.requests].count("sk-test-0") <= 1
    assert {k.reason for k in client.keys.parked_keys()} <= {"forbidden"}


def test_all_keys_refused_is_one_clear_error_for_the_check_run(env: Env) -> None:
    emulator, redis_url, prefix = env
    for key in THREE:
        emulator.revoke(key)
    client = make_client(make_config(emulator, prefix, keys=THREE), redis_url)

    with pytest.raises(NoUsableKey) as raised:
        review_segment(client, PROMPT, CALL)

    message = str(raised.value)
    assert "key 1 (unauthorized); key 2 (unauthorized); key 3 (unauthorized)" in message
    assert "OPENAI_API_KEY" in message
    assert "sk-test" not in message  # never the key itself
    assert len(emulator.requests) == 3
    failure = describe(raised.value)
    assert failure.kind == "model_keys"
    assert not failure.transient
    assert "refused every configured key" in failure.text
