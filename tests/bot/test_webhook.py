"""The receiver end to end through FastAPI's test client, with real HMAC and a real Redis."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from bot.main import WEBHOOK_PATH, create_app
from bot.queue import job_id_for
from bot.webhook import OFF_LOOP_BYTES
from codex_common.jobs import COMMAND_TASK, REVIEW_TASK
from tests.bot.conftest import (
    OLD_SECRET,
    delivery_headers,
    fixture_bytes,
    make_settings,
    queued_jobs,
)
from workers.redis_server import RedisServer, free_port


def kill(server: RedisServer) -> None:
    server.kill()
    if server.process is not None and server.process.stderr is not None:
        server.process.stderr.close()


def post(client: TestClient, event: str, body: bytes, **kwargs: str) -> tuple[int, dict]:
    response = client.post(
        WEBHOOK_PATH, content=body, headers=delivery_headers(event, body, **kwargs)
    )
    return response.status_code, response.json()


def test_ping_answers_200(client: TestClient, redis_client: redis.Redis) -> None:
    status, body = post(client, "ping", fixture_bytes("ping.json"))
    assert (status, body["status"]) == (200, "ping")
    assert redis_client.llen("reviews") == 0


def test_pull_request_opened_enqueues_one_review_job(
    client: TestClient, redis_client: redis.Redis
) -> None:
    delivery = str(uuid.uuid4())
    status, body = post(
        client, "pull_request", fixture_bytes("pull_request.opened.json"), delivery=delivery
    )
    assert status == 202
    assert body["status"] == "accepted"
    assert body["job_id"] == job_id_for(delivery, REVIEW_TASK)
    [job] = queued_jobs(redis_client, "reviews")
    assert job == {
        "task": REVIEW_TASK,
        "id": body["job_id"],
        "job": {
            "delivery_id": delivery,
            "installation_id": 41234567,
            "repository": "octo-org/hello-world",
            "pr_number": 1347,
            "head_sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            "trigger": "opened",
            "comment_id": None,
            "reply_comment_id": None,
            "reply_comment_kind": None,
        },
    }
    assert redis_client.llen("commands") == 0


def test_each_review_action_enqueues(client: TestClient, redis_client: redis.Redis) -> None:
    for action in ("reopened", "ready_for_review", "synchronize"):
        status, _ = post(client, "pull_request", fixture_bytes(f"pull_request.{action}.json"))
        assert status == 202
    triggers = [job["job"]["trigger"] for job in queued_jobs(redis_client, "reviews")]
    assert triggers == ["reopened", "ready_for_review", "synchronize"]


def test_command_comment_goes_to_the_command_queue(
    client: TestClient, redis_client: redis.Redis
) -> None:
    status, _body = post(client, "issue_comment", fixture_bytes("issue_comment.created.json"))
    assert status == 202
    [job] = queued_jobs(redis_client, "commands")
    assert job["task"] == COMMAND_TASK
    assert job["job"]["command"] == "fix"
    assert job["job"]["comment_id"] == 2501234567
    assert job["job"]["comment_kind"] == "issue_comment"
    status, _ = post(
        client,
        "pull_request_review_comment",
        fixture_bytes("pull_request_review_comment.created.json"),
    )
    assert status == 202
    kinds = [j["job"]["comment_kind"] for j in queued_jobs(redis_client, "commands")]
    assert kinds == ["issue_comment", "review_comment"]
    assert redis_client.llen("reviews") == 0


def test_duplicate_delivery_is_answered_200_and_not_enqueued_again(
    client: TestClient, redis_client: redis.Redis
) -> None:
    body = fixture_bytes("pull_request.opened.json")
    delivery = str(uuid.uuid4())
    first, first_body = post(client, "pull_request", body, delivery=delivery)
    second, second_body = post(client, "pull_request", body, delivery=delivery)
    assert (first, second) == (202, 200)
    assert second_body["status"] == "duplicate"
    assert second_body["job_id"] == first_body["job_id"]
    assert redis_client.llen("reviews") == 1


def test_ledger_survives_an_app_restart(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    body = fixture_bytes("pull_request.opened.json")
    delivery = str(uuid.uuid4())
    with TestClient(create_app(make_settings(redis_server.url))) as first:
        assert post(first, "pull_request", body, delivery=delivery)[0] == 202
    with TestClient(create_app(make_settings(redis_server.url))) as second:
        assert post(second, "pull_request", body, delivery=delivery)[0] == 200
    assert redis_client.llen("reviews") == 1


def test_bot_and_self_comments_make_no_job(client: TestClient, redis_client: redis.Redis) -> None:
    status, body = post(client, "issue_comment", fixture_bytes("issue_comment.created.bot.json"))
    assert (status, body["status"]) == (202, "ignored")
    assert "bot" in body["reason"]
    assert redis_client.llen("commands") == 0


def test_unknown_and_unhandled_events_are_ignored_with_a_reason(
    client: TestClient, redis_client: redis.Redis
) -> None:
    cases = {
        ("issues", "issues.opened.json"): "not handled",
        ("pull_request", "pull_request.closed.json"): "closed",
        ("pull_request", "pull_request.opened.draft.json"): "draft",
        ("issue_comment", "issue_comment.created.issue.json"): "not a pull request",
    }
    for (event, name), reason in cases.items():
        status, body = post(client, event, fixture_bytes(name))
        assert (status, body["status"]) == (202, "ignored"), name
        assert reason in body["reason"], (name, body)
    assert redis_client.llen("reviews") == redis_client.llen("commands") == 0


def test_installation_events_are_logged(client: TestClient) -> None:
    status, body = post(client, "installation", fixture_bytes("installation.created.json"))
    assert (status, body["status"]) == (200, "logged")


def test_form_encoded_body(client: TestClient, redis_client: redis.Redis) -> None:
    payload = fixture_bytes("pull_request.opened.json").decode()
    body = urlencode({"payload": payload}).encode()
    headers = delivery_headers("pull_request", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 202
    assert queued_jobs(redis_client, "reviews")[0]["job"]["pr_number"] == 1347


def test_form_body_without_payload_field_is_400(client: TestClient) -> None:
    body = b"other=1"
    headers = delivery_headers("pull_request", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert "payload" in response.json()["error"]


def test_signature_failures_are_401_and_enqueue_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    body = fixture_bytes("pull_request.opened.json")
    forged = delivery_headers("pull_request", body, secret="not-the-secret")
    missing = delivery_headers("pull_request", body)
    del missing["X-Hub-Signature-256"]
    sha1_only = dict(missing, **{"X-Hub-Signature": "sha1=" + "0" * 40})
    for headers in (forged, missing, sha1_only):
        response = client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 401
    assert redis_client.llen("reviews") == 0


def test_the_previous_secret_still_works_while_rotating(client: TestClient) -> None:
    status, _ = post(
        client, "pull_request", fixture_bytes("pull_request.opened.json"), secret=OLD_SECRET
    )
    assert status == 202


def test_missing_event_or_delivery_header_is_400(client: TestClient) -> None:
    body = fixture_bytes("ping.json")
    for header in ("X-GitHub-Event", "X-GitHub-Delivery"):
        headers = delivery_headers("ping", body)
        del headers[header]
        response = client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 400
        assert header in response.json()["error"]


def test_invalid_json_behind_a_valid_signature_is_400(client: TestClient) -> None:
    for body in (b"{not json", b"[1, 2]", b""):
        status, answer = post(client, "pull_request", body)
        assert status == 400
        assert "JSON" in answer["error"]


def test_payload_missing_required_fields_is_400(client: TestClient) -> None:
    body = json.dumps({"action": "opened", "pull_request": {"number": 1}}).encode()
    status, answer = post(client, "pull_request", body)
    assert status == 400
    assert "pull_request payload" in answer["error"]


def test_oversize_body_is_413(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    app = create_app(make_settings(redis_server.url, max_body_bytes=4096))
    body = b'{"zen": "' + b"x" * 5000 + b'"}'
    with TestClient(app) as client:
        response = client.post(WEBHOOK_PATH, content=body, headers=delivery_headers("ping", body))
        assert response.status_code == 413
        # Without a Content-Length the cap holds while streaming.
        headers = delivery_headers("ping", body)
        response = client.post(
            WEBHOOK_PATH, content=iter([body[:3000], body[3000:]]), headers=headers
        )
        assert response.status_code == 413


def test_default_cap_is_25_megabytes(client: TestClient) -> None:
    body = b" " * (25 * 1024 * 1024 + 1)
    response = client.post(WEBHOOK_PATH, content=body, headers=delivery_headers("ping", body))
    assert response.status_code == 413


def test_broker_down_is_503_then_the_redelivery_is_accepted(tmp_path: Path) -> None:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    try:
        app = create_app(make_settings(server.url, broker_timeout_seconds=0.5))
        body = fixture_bytes("pull_request.opened.json")
        delivery = str(uuid.uuid4())
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            kill(server)
            started = time.monotonic()
            status, answer = post(client, "pull_request", body, delivery=delivery)
            elapsed = time.monotonic() - started
            assert status == 503
            assert "unreachable" in answer["error"]
            assert elapsed < 5  # far inside GitHub's 10 s delivery timeout
            assert client.get("/readyz").status_code == 503
            server = RedisServer.start(tmp_path / "redis", port=server.port, durable=True)
            assert client.get("/readyz").status_code == 200
            status, answer = post(client, "pull_request", body, delivery=delivery)
            assert (status, answer["status"]) == (202, "accepted")
            again, _ = post(client, "pull_request", body, delivery=delivery)
            assert again == 200
        check = redis.Redis.from_url(server.url)
        assert check.llen("reviews") == 1
        check.close()
    finally:
        kill(server)


def test_health_here_and_metrics_on_their_own_listener(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    port = free_port()
    app = create_app(make_settings(redis_server.url, metrics_port=port))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        post(client, "pull_request", fixture_bytes("pull_request.opened.json"))
        post(client, "issues", fixture_bytes("issues.opened.json"))
        body = fixture_bytes("ping.json")
        client.post(
            WEBHOOK_PATH,
            content=body,
            headers=delivery_headers("ping", body, secret="wrong-secret"),
        )
        # Not on the webhook port.
        assert client.get("/metrics").status_code == 404
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
        assert httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 405
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'codex_webhook_deliveries_total{event="pull_request",outcome="accepted"} 1.0' in text
    assert 'codex_webhook_deliveries_total{event="issues",outcome="ignored"} 1.0' in text
    assert 'codex_webhook_deliveries_total{event="unverified",outcome="rejected_401"} 1.0' in text
    assert 'codex_queue_depth{queue="reviews"} 1.0' in text
    assert "codex_enqueue_seconds_count 1.0" in text


def test_the_openapi_pages_are_off_by_default(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
        assert client.get(path).status_code == 404, path


def test_a_metrics_port_in_use_leaves_the_receiver_serving(
    redis_server: RedisServer, redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        app = create_app(make_settings(redis_server.url, metrics_port=port))
        with TestClient(app) as client:
            body = fixture_bytes("pull_request.opened.json")
            assert post(client, "pull_request", body)[0] == 202
    assert "metrics listener not started" in capsys.readouterr().out


def test_other_methods_on_the_webhook_path_are_405_and_the_schema_lists_it(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url, openapi_docs=True))
    with TestClient(app) as client:
        assert client.get(WEBHOOK_PATH).status_code == 405
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
    assert set(schema["paths"][WEBHOOK_PATH]["post"]["responses"]) == {
        "200", "202", "400", "401", "413", "503"
    }  # fmt: skip
    assert "/healthz" in schema["paths"]
    assert "/metrics" not in schema["paths"]


def test_a_large_delivery_is_verified_off_the_event_loop_and_accepted(
    client: TestClient, redis_client: redis.Redis
) -> None:
    payload = json.loads(fixture_bytes("pull_request.opened.json"))
    payload["pull_request"]["body"] = "x" * (OFF_LOOP_BYTES + 1000)
    body = json.dumps(payload).encode()
    status, answer = post(client, "pull_request", body)
    assert (status, answer["status"]) == (202, "accepted")
    assert queued_jobs(redis_client, "reviews")[0]["job"]["pr_number"] == 1347
    forged = delivery_headers("pull_request", body, secret="not-the-secret")
    assert client.post(WEBHOOK_PATH, content=body, headers=forged).status_code == 401
    assert redis_client.llen("reviews") == 1


def test_a_broker_that_never_answers_is_503_with_retry_after() -> None:
    # Connections are accepted by the kernel (listen backlog) but nothing is ever read.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        metrics_port = free_port()
        app = create_app(
            make_settings(
                f"redis://127.0.0.1:{port}/0",
                broker_timeout_seconds=0.2,
                metrics_port=metrics_port,
            )
        )
        with TestClient(app) as client:
            body = fixture_bytes("pull_request.opened.json")
            response = client.post(
                WEBHOOK_PATH, content=body, headers=delivery_headers("pull_request", body)
            )
            assert response.status_code == 503
            assert response.headers["retry-after"] == "30"
            assert "unreachable" in response.json()["error"]
            assert client.get("/readyz").status_code == 503
            metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
            assert metrics.status_code == 200
            assert "codex_queue_depth{" not in metrics.text


def test_concurrent_copies_of_deliveries_enqueue_each_once(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    """Many deliveries in flight on one event loop, sharing one pipelined connection."""
    app = create_app(make_settings(redis_server.url))
    fixture = fixture_bytes("pull_request.opened.json")
    deliveries = [str(uuid.uuid4()) for _ in range(40)]
    # Each delivery its own body (trailing blanks): one body is one delivery to the ledger.
    bodies = {delivery: fixture + b" " * n for n, delivery in enumerate(deliveries)}

    async def deliver(delivery: str) -> int:
        sent: list[dict] = []
        body = bodies[delivery]
        chunks = [body[:1000], body[1000:]]

        async def receive() -> dict:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict) -> None:
            sent.append(message)

        headers = delivery_headers("pull_request", body, delivery=delivery)
        scope = {
            "type": "http",
            "method": "POST",
            "path": WEBHOOK_PATH,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        await app(scope, receive, send)
        return int(sent[0]["status"])

    async def scenario() -> list[int]:
        try:
            return list(await asyncio.gather(*(deliver(d) for d in deliveries * 3)))
        finally:
            await app.webhook.intake.ledger.client.aclose()

    statuses = asyncio.run(scenario())
    assert sorted(statuses) == [200] * 80 + [202] * 40
    queued = [job["job"]["delivery_id"] for job in queued_jobs(redis_client, "reviews")]
    assert sorted(queued) == sorted(deliveries)


def test_a_client_that_disconnects_mid_body_gets_no_answer_and_nothing_is_queued(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_server.url))
    body = fixture_bytes("pull_request.opened.json")
    messages = [
        {"type": "http.request", "body": body[:100], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    headers = delivery_headers("pull_request", body)
    scope = {
        "type": "http",
        "method": "POST",
        "path": WEBHOOK_PATH,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    assert sent == []
    assert redis_client.llen("reviews") == 0


def test_the_same_body_under_a_new_delivery_id_is_a_duplicate(
    client: TestClient, redis_client: redis.Redis
) -> None:
    body = fixture_bytes("issue_comment.created.json")
    first, first_body = post(client, "issue_comment", body)
    replays = [post(client, "issue_comment", body) for _ in range(3)]
    assert first == 202
    assert [(status, answer["status"]) for status, answer in replays] == [(200, "duplicate")] * 3
    assert {answer["job_id"] for _, answer in replays} == {first_body["job_id"]}
    assert redis_client.llen("commands") == 1
    # One byte more is another body: accepted.
    assert post(client, "issue_comment", body + b" ")[0] == 202
    assert redis_client.llen("commands") == 2
