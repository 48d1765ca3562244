"""Fixtures for the receiver's tests: signed deliveries, a configured app on a throwaway Redis."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from bot.config import WebSettings
from bot.main import create_app
from bot.signatures import sign
from workers.redis_server import RedisServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
SECRET = "s3cret-for-tests-only"
OLD_SECRET = "previous-secret-value"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes(name))
    return data


def delivery_headers(
    event: str, body: bytes, *, secret: str = SECRET, delivery: str | None = None
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret.encode(), body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc1234",
    }


def make_settings(redis_url: str, **extra: Any) -> WebSettings:
    """Settings for an app under test; the metrics listener is off unless a port is given."""
    return WebSettings(
        webhook_secret=f"{SECRET},{OLD_SECRET}",  # type: ignore[arg-type]
        redis_url=redis_url,
        log_format="json",
        _env_file=None,  # type: ignore[call-arg]
        **{"metrics_port": 0, **extra},
    )


def queued_jobs(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    """The job dicts kombu put on a Redis list, oldest first."""
    jobs = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        _args, kwargs, _embed = body
        jobs.append({"task": message["headers"]["task"], "id": message["headers"]["id"], **kwargs})
    return jobs


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    # The server is up and logs to its file; its stderr pipe is left unclosed by
    # RedisServer.stop(), which warnings-as-errors turns into a failure at exit.
    if redis_server.process is not None and redis_server.process.stderr is not None:
        redis_server.process.stderr.close()
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def client(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[TestClient]:
    app = create_app(make_settings(redis_server.url, app_id=123456, app_slug="codex-review"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
