"""The Redis limiter: leases, token windows, and two worker processes sharing one key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from tests.emulators.openai import KeyLimits, ResponsesEmulator, count_tokens, slow
from tests.model import limit_worker
from tests.model.helpers import FakeClock
from workers.model import LimiterSettings
from workers.model.errors import CapacityTimeout
from workers.model.limits import KeyPool
from workers.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(model_redis: RedisServer) -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(model_redis.url)
    yield client
    client.close()


def _pool(store: redis.Redis[bytes], prefix: str, clock: FakeClock, **settings: float) -> KeyPool:
    return KeyPool(
        (SecretStr("sk-a"),),
        store,
        LimiterSettings(**settings),  # type: ignore[arg-type]
        clock,
        prefix=prefix,
    )


def test_a_lease_of_a_dead_worker_expires(store: redis.Redis[bytes], model_prefix: str) -> None:
    clock = FakeClock()
    pool = _pool(store, model_prefix, clock, max_concurrency=1, lease_seconds=5, max_wait_seconds=1)
    pool.acquire(10)  # never released: the worker "died"
    with pytest.raises(CapacityTimeout):
        pool.acquire(10)
    patient = _pool(
        store, model_prefix, clock, max_concurrency=1, lease_seconds=5, max_wait_seconds=30
    )
    waited_before = sum(clock.sleeps)
    lease = patient.acquire(10)
    assert lease.key_index == 0
    assert 3.5 <= sum(clock.sleeps) - waited_before <= 5.5


def test_the_token_window_makes_calls_wait(store: redis.Redis[bytes], model_prefix: str) -> None:
    clock = FakeClock()
    pool = _pool(store, model_prefix, clock, tokens_per_window=1000, window_seconds=60)
    first = pool.acquire(600)
    pool.release(first, None)
    pool.acquire(600)
    assert sum(clock.sleeps) == pytest.approx(60, abs=1)


def test_reconciling_raises_but_never_lowers_the_reservation(
    store: redis.Redis[bytes], model_prefix: str
) -> None:
    clock = FakeClock()
    pool = _pool(
        store, model_prefix, clock, tokens_per_window=1000, window_seconds=60, max_wait_seconds=0
    )
    pool.release(pool.acquire(300), actual_tokens=100)
    pool.release(pool.acquire(300), actual_tokens=500)
    # 300 + 500 are booked: 200 more fit, 201 do not.
    lease = pool.acquire(200)
    pool.release(lease, None)
    with pytest.raises(CapacityTimeout):
        pool.acquire(1)


def test_a_call_larger_than_the_limit_fails_at_once(
    store: redis.Redis[bytes], model_prefix: str
) -> None:
    pool = _pool(store, model_prefix, FakeClock(), tokens_per_window=100)
    with pytest.raises(CapacityTimeout, match="exceeds"):
        pool.acquire(101)


def test_two_worker_processes_share_one_keys_limits(
    openai_emulator: ResponsesEmulator, model_redis: RedisServer, model_prefix: str
) -> None:
    emulator = openai_emulator
    emulator.limit(
        "sk-test-0",
        KeyLimits(
            max_concurrency=limit_worker.MAX_CONCURRENCY,
            tokens_per_window=limit_worker.TOKENS_PER_WINDOW,
            window_seconds=limit_worker.WINDOW,
        ),
    )
    emulator.add(slow(0.1))
    calls, threads = 8, 3
    tokens = count_tokens({"instructions": limit_worker.INSTRUCTIONS, "input": limit_worker.INPUT})
    workers = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.model.limit_worker",
                emulator.url, model_redis.url, model_prefix, str(calls), str(threads), str(tokens),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == ["ok"] * calls

    stats = emulator.key_stats("sk-test-0")
    per_call = tokens + limit_worker.MAX_OUTPUT
    assert len(emulator.requests) == 2 * calls
    assert stats.violations == 0
    assert 1 <= stats.peak_concurrency <= limit_worker.MAX_CONCURRENCY
    assert stats.peak_window_tokens <= limit_worker.TOKENS_PER_WINDOW
    # The limit was actually reached, so the limiter did the holding back.
    assert stats.peak_window_tokens > limit_worker.TOKENS_PER_WINDOW - per_call
