"""Throwaway Redis servers for tests: each starts on a free port in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One Redis for the whole session; tests isolate themselves by key prefix or FLUSHDB."""
    server = RedisServer.start(Path(tmp_path_factory.mktemp("redis")), durable=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, for tests that kill or restart it."""
    server = RedisServer.start(tmp_path / "redis", durable=True)
    try:
        yield server
    finally:
        server.kill()
