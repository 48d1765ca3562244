"""The receiver's limits as values: the body budget, the rate-limited log of refusals,
the endpoint refusing what does not fit before reading it, the metrics listener's answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.limits import BodyBudget, HostileLog
from bot.main import WEBHOOK_PATH, create_app
from bot.metrics import metrics_response
from bot.server import SPARE_FILES, raise_file_limit
from tests.bot.conftest import delivery_headers, fixture_bytes, make_settings
from workers.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]


def test_the_budget_admits_bodies_while_both_count_and_bytes_fit() -> None:
    budget = BodyBudget(max_bodies=2, max_bytes=100)
    assert budget.try_reserve(60)
    assert not budget.try_reserve(41)  # bytes
    assert budget.try_reserve(40)
    assert not budget.try_reserve(0)  # count
    budget.release(60)
    assert budget.try_grow(20)
    assert not budget.try_grow(41)
    assert (budget.bodies, budget.reserved) == (1, 60)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_hostile_log_writes_one_line_per_kind_and_interval_with_a_count() -> None:
    clock = FakeClock()
    lines: list[dict[str, Any]] = []
    log = HostileLog(interval=10, clock=clock, emit=lambda event, **kw: lines.append(kw))
    for _ in range(500):
        log.record("header_timeout")
    log.record("bad_signature", delivery_id="d-1")
    assert lines == [
        {"kind": "header_timeout", "count": 1},
        {"kind": "bad_signature", "count": 1, "delivery_id": "d-1"},
    ]
    assert log.pending() == 499
    log.flush()  # too early: nothing
    assert len(lines) == 2
    clock.now += 10
    log.flush()
    assert lines[-1] == {"kind": "header_timeout", "count": 499}
    assert log.pending() == 0
    # The next line after a quiet interval stands for itself only.
    clock.now += 10
    log.record("header_timeout")
    assert lines[-1] == {"kind": "header_timeout", "count": 1}
    log.record("header_timeout")
    log.flush(force=True)
    assert lines[-1] == {"kind": "header_timeout", "count": 1}


def test_the_open_file_limit_is_raised_to_fit_the_connections() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        allowed = raise_file_limit(1000)
        new_soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if hard == resource.RLIM_INFINITY or hard >= 1000 + SPARE_FILES:
            assert allowed == 1000
            assert new_soft == 1000 + SPARE_FILES
        else:
            assert allowed == hard - SPARE_FILES
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_limit_below_the_connections_lowers_the_cap() -> None:
    # In a child process: an unprivileged process cannot raise its hard limit back.
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)); "
        "from bot.server import raise_file_limit; print(raise_file_limit(1000))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert int(out) == 200 - SPARE_FILES


def run_asgi(app: Any, headers: dict[str, str], chunks: list[bytes]) -> tuple[list[dict], int]:
    """One request through the ASGI app; returns what it sent and how many chunks it read."""
    sent: list[dict] = []
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": WEBHOOK_PATH,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def scenario() -> None:
        try:
            await app(scope, receive, send)
        finally:
            await app.webhook.intake.ledger.client.aclose()

    asyncio.run(scenario())
    return sent, reads


def test_a_body_that_does_not_fit_the_budget_is_503_unread_and_the_connection_closes(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url, max_body_reads=1))
    body = fixture_bytes("pull_request.opened.json")
    assert app.webhook.budget.try_reserve(1)  # another delivery holds the only slot
    sent, reads = run_asgi(app, delivery_headers("pull_request", body), [body])
    start = sent[0]
    assert start["status"] == 503
    assert (b"connection", b"close") in start["headers"]
    assert reads == 0
    assert redis_client.llen("reviews") == 0


def test_a_declared_size_over_the_cap_is_413_unread_and_the_connection_closes(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url, max_body_bytes=4096))
    headers = {**delivery_headers("pull_request", b"{}"), "Content-Length": "4097"}
    sent, reads = run_asgi(app, headers, [b"{}"])
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert reads == 0
    assert app.webhook.budget.bodies == 0


def test_a_body_longer_than_its_content_length_is_refused(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url))
    body = fixture_bytes("pull_request.opened.json")
    headers = {**delivery_headers("pull_request", body), "Content-Length": str(len(body) - 1)}
    sent, _ = run_asgi(app, headers, [body])
    assert sent[0]["status"] == 413
    assert redis_client.llen("reviews") == 0
    assert (app.webhook.budget.bodies, app.webhook.budget.reserved) == (0, 0)


def test_a_body_without_length_is_admitted_chunk_by_chunk_until_the_budget_is_spent(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url, max_body_bytes=1024 * 1024))
    assert app.webhook.budget.try_reserve(app.webhook.budget.max_bytes - 100 * 1024)
    headers = delivery_headers("pull_request", b"x", delivery=str(uuid.uuid4()))
    sent, reads = run_asgi(app, headers, [b"x" * 60 * 1024] * 4)
    assert sent[0]["status"] == 503
    assert reads == 2  # 64 KiB up front hold the first chunk; 36 KiB left for the second
    # A delivery without Content-Length that fits is accepted as before.
    app = create_app(make_settings(redis_server.url))
    body = fixture_bytes("pull_request.opened.json")
    sent, _ = run_asgi(app, delivery_headers("pull_request", body), [body[:1000], body[1000:]])
    assert sent[0]["status"] == 202
    assert (app.webhook.budget.bodies, app.webhook.budget.reserved) == (0, 0)


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"200 OK"),
        (b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", b"200 OK"),
        (b"GET /docs HTTP/1.1\r\n\r\n", b"404 Not Found"),
        (b"POST /metrics HTTP/1.1\r\n\r\n", b"405 Method Not Allowed"),
        (b"garbage\r\n\r\n", b"404 Not Found"),
    ],
)
def test_the_metrics_listener_answers_only_get_metrics(head: bytes, status: bytes) -> None:
    wanted = head.startswith(b"GET ")
    answer = metrics_response(head, b"codex_up 1\n" if wanted else None)
    assert answer.startswith(b"HTTP/1.1 " + status + b"\r\n")
    assert b"connection: close" in answer
    assert answer.endswith(b"codex_up 1\n") == (status == b"200 OK")
