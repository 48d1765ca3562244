"""Shared bits of the model tests: a prompt, a call context, a controllable clock, a client."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import redis
from pydantic import SecretStr

from tests.emulators.openai import ResponsesEmulator, count_tokens
from workers.model import CallContext, ModelClient, ModelConfig, RetryPolicy


@dataclass(frozen=True)
class Prompt:
    instructions: str
    input: str
    cache_key: str = "rubric-v1"
    input_tokens: int = 0

    @classmethod
    def of(cls, input_text: str, instructions: str = "Review this diff.") -> Prompt:
        tokens = count_tokens({"instructions": instructions, "input": input_text})
        return cls(instructions, input_text, "rubric-v1", tokens)


CALL = CallContext(
    installation_id=42,
    repository="octo/widgets",
    pr_number=7,
    head_sha="a" * 40,
    delivery_id="d-1",
)


@dataclass
class FakeClock:
    """Real time plus whatever the code under test asked to sleep; sleeping is instant."""

    offset: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


def make_config(emulator: ResponsesEmulator, prefix: str, **overrides: Any) -> ModelConfig:
    keys = overrides.pop("keys", ("sk-test-0",))
    base = ModelConfig(
        keys=tuple(SecretStr(key) for key in keys),
        base_url=emulator.url,
        escalation_model=None,
        retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_total_wait=60.0),
        redis_prefix=prefix,
        read_timeout=5.0,
    )
    return replace(base, **overrides)


_OPEN: list[tuple[httpx.Client, redis.Redis[bytes]]] = []


def make_client(config: ModelConfig, redis_url: str, clock: FakeClock | None = None) -> ModelClient:
    """A client on its own connections; ``close_clients()`` (an autouse fixture) closes them."""
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    http = httpx.Client(timeout=timeout)
    store: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    _OPEN.append((http, store))
    return ModelClient(config, http=http, redis_client=store, clock=clock or FakeClock())


def close_clients() -> None:
    while _OPEN:
        http, store = _OPEN.pop()
        http.close()
        store.close()


FINDING: dict[str, Any] = {
    "path": "app.py",
    "line_start": 3,
    "line_end": 4,
    "quote": "x = 1\ny = 2",
    "priority": 1,
    "title": "Off-by-one in loop bound",
    "body": "The loop skips the last element.",
    "suggestion": "x = 0\ny = 2",
    "confidence": 0.9,
}
