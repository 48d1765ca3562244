"""Fixtures for the model client: a served Responses emulator and clients pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.openai import ResponsesEmulator
from workers.redis_server import RedisServer


@pytest.fixture(scope="session")
def openai_server() -> Iterator[ResponsesEmulator]:
    """One emulator for the session, on a free port of 127.0.0.1."""
    emulator = ResponsesEmulator().serve()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def openai_emulator(openai_server: ResponsesEmulator) -> Iterator[ResponsesEmulator]:
    """The session emulator with no rules, limits or recorded requests."""
    openai_server.reset()
    yield openai_server
    openai_server.reset()


@pytest.fixture
def model_prefix() -> str:
    """A Redis key prefix of the test's own, so tests sharing a Redis do not meet."""
    return f"test:{uuid.uuid4().hex[:10]}:model"


@pytest.fixture(scope="session")
def model_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A throwaway Redis for the limiter and ledger; tests separate by ``model_prefix``."""
    server = RedisServer.start(Path(tmp_path_factory.mktemp("model-redis")), durable=False)
    try:
        yield server
    finally:
        server.stop()
        # The server's stderr pipe is left open by RedisServer; close it here.
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()
