"""Retries and waiting of the model client under 429 storms, against the Responses emulator.

Usage: python bench/model_storm.py [SEGMENTS]
The real client, emulator and Redis run; only sleeping is simulated (a clock that
advances instead of sleeping), so the printed waits are what a worker would spend.

Two levels of retry, as in the worker: each call retries within its own budget
(``ok1``: segments answered in the job's first attempt); a segment that still
failed for a transient reason is asked again in the job's later attempts, spaced
by ``workers.failures.retry_delay``, until the job's deadline (``ok``: in the end;
``job_tries``: attempts of the job; ``added_s``: the time those later attempts add).

Then a key pool of three: one key revoked (401) and one answering 429 with a
20 s reset half of the time; printed are the requests each key took, the 401s
(the revoked key is parked after its first), the 429s and the time waited.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis
from pydantic import SecretStr

from codex_common.logs import configure_logging
from tests.emulators.openai import (
    Answer,
    KeyLimits,
    ResponsesEmulator,
    count_tokens,
    findings,
    rate_limited,
)
from tests.model.helpers import FakeClock, Prompt
from workers.failures import retry_delay
from workers.model import CallContext, ModelClient, ModelConfig, RetryPolicy, review_segment
from workers.redis_server import RedisServer


def storms(rng: random.Random) -> dict[str, Callable[[dict[str, Any]], Answer]]:
    def sometimes(p: float, answer: Callable[[], Answer]) -> Callable[[dict[str, Any]], Answer]:
        return lambda _body: answer() if rng.random() < p else findings([])

    return {
        "50% 429, retry-after-ms 0-2000": sometimes(
            0.5, lambda: rate_limited(retry_after_ms=rng.randint(0, 2000), reset_tokens=None)
        ),
        "50% 429, only x-ratelimit-reset-tokens 1-20s": sometimes(
            0.5, lambda: rate_limited(reset_tokens=f"{rng.randint(1, 20)}s")
        ),
        "50% 429, no headers (backoff+jitter)": sometimes(
            0.5, lambda: rate_limited(reset_tokens=None)
        ),
        "90% 429, no headers (backoff+jitter)": sometimes(
            0.9, lambda: rate_limited(reset_tokens=None)
        ),
        "100% 429, reset-requests 6m0s (give up)": sometimes(
            1.0, lambda: rate_limited(reset_tokens=None, reset_requests="6m0s")
        ),
    }


JOB_DEADLINE_SECONDS = 1800.0


def run(segments: int) -> None:
    configure_logging("ERROR", "console")
    rng = random.Random(7)
    emulator = ResponsesEmulator().serve()
    server = RedisServer.start(Path(tempfile.mkdtemp()) / "redis", durable=False)
    store: redis.Redis[bytes] = redis.Redis.from_url(server.url)
    policy = RetryPolicy()
    print(
        f"policy: max_attempts={policy.max_attempts} base={policy.base_delay}s "
        f"cap={policy.max_delay}s max_total_wait={policy.max_total_wait}s; {segments} segments"
    )
    header = f"{'storm':48} {'ok1':>4} {'ok':>4} {'fail':>4} {'reqs':>5} {'retries':>7} "
    print(header + f"{'wait_total_s':>12} {'wait_max_s':>10} {'job_tries':>9} {'added_s':>8}")
    call = CallContext(1, "octo/bench", 1, "a" * 40, "bench")
    text = "+x = 1\n" * 40
    prompt = Prompt(
        "Review.", text, "bench", count_tokens({"instructions": "Review.", "input": text})
    )
    try:
        for index, (name, answer) in enumerate(storms(rng).items()):
            emulator.reset()
            # Only the scripted storm limits: each call reserves its whole output budget
            # (16,000 tokens), which would exhaust the emulator's default token window.
            emulator.limit("sk-test-0", KeyLimits(tokens_per_window=10**10))
            emulator.add(answer)
            clock = FakeClock()
            config = ModelConfig(
                keys=(SecretStr("sk-test-0"),),
                base_url=emulator.url,
                escalation_model=None,
                retry=policy,
                redis_prefix=f"bench:{index}",
            )
            with httpx.Client(timeout=10) as http:
                client = ModelClient(config, http=http, redis_client=store, clock=clock, rng=rng)
                reviews = [review_segment(client, prompt, call) for _ in range(segments)]
                first_ok = sum(r.status == "ok" for r in reviews)
                tries, added = 1, 0.0
                while True:
                    pending = [i for i, r in enumerate(reviews) if r.transient]
                    remaining = JOB_DEADLINE_SECONDS - added
                    delay = retry_delay(tries - 1, remaining=remaining, rng=rng)
                    if not pending or delay is None:
                        break
                    clock.sleep(delay)
                    before = clock.offset
                    for i in pending:
                        reviews[i] = review_segment(client, prompt, call)
                    added += delay + (clock.offset - before)
                    tries += 1
            waits = [r.waited_seconds for r in reviews]
            print(
                f"{name:48} {first_ok:>4} {sum(r.status == 'ok' for r in reviews):>4} "
                f"{sum(r.status != 'ok' for r in reviews):>4} {len(emulator.requests):>5} "
                f"{sum(r.retries for r in reviews):>7} {sum(waits):>12.1f} "
                f"{max(waits):>10.2f} {tries:>9} {added:>8.0f}"
            )
    finally:
        store.close()
        server.stop()
        emulator.stop()


def run_pool(segments: int) -> None:
    """Three keys: ``sk-test-0`` revoked, ``sk-test-1`` 429 (20 s reset) half of the time."""
    rng = random.Random(11)
    emulator = ResponsesEmulator().serve()
    server = RedisServer.start(Path(tempfile.mkdtemp()) / "redis", durable=False)
    store: redis.Redis[bytes] = redis.Redis.from_url(server.url)
    text = "+x = 1\n" * 40
    prompt = Prompt(
        "Review.", text, "bench", count_tokens({"instructions": "Review.", "input": text})
    )
    call = CallContext(1, "octo/bench", 1, "a" * 40, "bench")
    keys = ("sk-test-0", "sk-test-1", "sk-test-2")
    try:
        emulator.revoke("sk-test-0")
        emulator.add(
            lambda _body: (
                rate_limited(reset_tokens="20s", retry_after="20")
                if rng.random() < 0.5
                else findings([])
            ),
            key="sk-test-1",
        )
        clock = FakeClock()
        config = ModelConfig(
            keys=tuple(SecretStr(key) for key in keys),
            base_url=emulator.url,
            escalation_model=None,
            redis_prefix="bench:pool",
        )
        with httpx.Client(timeout=10) as http:
            client = ModelClient(config, http=http, redis_client=store, clock=clock, rng=rng)
            reviews = [review_segment(client, prompt, call) for _ in range(segments)]
        per_key = {key: sum(r.key == key for r in emulator.requests) for key in keys}
        codes = [r.status_code for r in emulator.requests]
        print(
            f"\nkey pool, {segments} segments: ok {sum(r.status == 'ok' for r in reviews)}; "
            f"requests per key {per_key}; 401s {codes.count(401)}; 429s {codes.count(429)}; "
            f"waited {sum(clock.sleeps):.1f}s; parked {client.keys.parks_by_reason()}"
        )
    finally:
        store.close()
        server.stop()
        emulator.stop()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    run(count)
    run_pool(count)
