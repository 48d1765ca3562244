"""No secret, token or key ever reaches a log line."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from bot.intake import Intake
from bot.main import WEBHOOK_PATH, create_app
from codex_common.logs import _PATTERNS, REDACTED, Redactor, configure_logging, get_logger
from tests.bot.conftest import OLD_SECRET, SECRET, delivery_headers, fixture_bytes, make_settings
from workers.redis_server import RedisServer

GITHUB_TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0b\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging("DEBUG", "json", secrets=[SECRET, OLD_SECRET], stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_redactor_scrubs_every_kind_of_secret() -> None:
    redactor = Redactor([SECRET])
    text = (
        f"secret={SECRET} token {GITHUB_TOKEN} key {OPENAI_KEY} "
        f"Authorization: Bearer abc.def.ghi redis://:hunter2pass@broker:6379/0 "
        f"github_pat_11ABCDEFG0123456789_abcdefghijklmnop {PEM} "
        "jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjEyMzQ1Nn0.c2lnbmF0dXJlLXZhbHVl"
    )
    out = redactor.scrub(text)
    for leaked in (SECRET, GITHUB_TOKEN, OPENAI_KEY, "abc.def.ghi", "hunter2pass", "github_pat_1",
                   "MIIEowIBAAKCAQEA", "eyJhbGciOiJSUzI1NiJ9"):  # fmt: skip
        assert leaked not in out
    assert out.count(REDACTED) >= 7
    assert "redis://:***@broker:6379/0" in out


def test_sensitive_keys_and_nested_values_are_redacted(captured: io.StringIO) -> None:
    get_logger("t").info(
        "calling", headers={"Authorization": "token abc"}, token="plain", extra=[GITHUB_TOKEN]
    )
    logging.getLogger("third.party").warning("lib said %s", OPENAI_KEY)
    first, second = lines(captured)
    assert first["headers"] == {"Authorization": REDACTED}
    assert first["token"] == REDACTED
    assert first["extra"] == [REDACTED]
    assert second["event"] == f"lib said {REDACTED}"


def test_a_full_request_cycle_logs_the_delivery_id_and_no_secret(
    captured: io.StringIO, redis_server: RedisServer, redis_client: object
) -> None:
    app = create_app(make_settings(redis_server.url))
    body = fixture_bytes("pull_request.opened.json")
    with TestClient(app) as client:
        good = delivery_headers("pull_request", body, delivery="delivery-0001")
        assert client.post(WEBHOOK_PATH, content=body, headers=good).status_code == 202
        forged = delivery_headers("pull_request", body, secret=SECRET + "x", delivery="d-2")
        forged["Authorization"] = f"token {GITHUB_TOKEN}"
        assert client.post(WEBHOOK_PATH, content=body, headers=forged).status_code == 401
        # A payload that quotes the secret is logged nowhere verbatim either.
        echo = json.dumps({"zen": SECRET, "hook_id": 1}).encode()
        assert (
            client.post(
                WEBHOOK_PATH, content=echo, headers=delivery_headers("ping", echo)
            ).status_code
            == 200
        )
    records = lines(captured)
    text = captured.getvalue()
    assert any(
        r.get("delivery_id") == "delivery-0001" and r["event"] == "delivery accepted"
        for r in records
    )
    assert any(
        r.get("delivery_id") == "d-2"
        and r["event"] == "hostile client refused"
        and r["kind"] == "bad_signature"
        for r in records
    )
    for secret in (SECRET, OLD_SECRET, GITHUB_TOKEN):
        assert secret not in text


def test_a_bug_on_the_hot_path_is_500_and_logged_with_the_delivery_id(
    captured: io.StringIO,
    redis_server: RedisServer,
    redis_client: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: Intake, delivery_id: str, body_digest: str, route: object) -> None:
        raise RuntimeError("a bug, not a refusal")

    monkeypatch.setattr(Intake, "accept", broken)
    app = create_app(make_settings(redis_server.url))
    body = fixture_bytes("pull_request.opened.json")
    with TestClient(app) as client:
        headers = delivery_headers("pull_request", body, delivery="delivery-500")
        response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 500
    assert "bug" not in response.text  # internals stay in the log
    [record] = [r for r in lines(captured) if r["event"] == "delivery failed"]
    assert record["delivery_id"] == "delivery-500"
    assert record["level"] == "error"
    assert "RuntimeError: a bug, not a refusal" in str(record["exception"])


def test_a_token_in_an_ordinary_field_is_redacted(captured: io.StringIO) -> None:
    get_logger("bot.webhook").info(
        "delivery accepted", reason=f"pull_request.opened by {GITHUB_TOKEN}", note=OPENAI_KEY
    )
    [record] = lines(captured)
    assert record["reason"] == f"pull_request.opened by {REDACTED}"
    assert record["note"] == REDACTED


def test_fields_named_like_safe_ones_are_redacted_when_shaped_like_secrets(
    captured: io.StringIO,
) -> None:
    get_logger("bot.webhook").info(
        "delivery accepted",
        delivery_id=GITHUB_TOKEN,
        github_event="Authorization: token abc123",
        job_id=OPENAI_KEY,
        installation_id=f"{SECRET}-7",
        action=PEM,
    )
    logging.getLogger("uvicorn.error").info(
        "plain", extra={"delivery_id": "redis://:hunter2pass@broker:6379/0"}
    )
    first, second = lines(captured)
    assert first["delivery_id"] == REDACTED
    assert first["github_event"] == f"Authorization: {REDACTED}"
    assert first["job_id"] == REDACTED
    assert first["installation_id"] == f"{REDACTED}-7"
    assert first["action"] == REDACTED
    assert second["delivery_id"] == "redis://:***@broker:6379/0"
    for leaked in (GITHUB_TOKEN, OPENAI_KEY, SECRET, "abc123", "MIIEow", "hunter2pass"):
        assert leaked not in captured.getvalue()


def test_the_delivery_line_keeps_plain_values_as_they_are(captured: io.StringIO) -> None:
    get_logger("bot.webhook").info(
        "delivery accepted",
        delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        github_event="pull_request",
        job_id="0f6c2a8e9b7d4c1e",
        installation_id=42,
        reason="pull_request.opened",
        body="héllo ✓",
        big=2**70,
    )
    [record] = lines(captured)
    assert record["delivery_id"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert record["github_event"] == "pull_request"
    assert record["installation_id"] == 42
    assert record["body"] == "héllo ✓"
    assert record["big"] == 2**70
    assert record["level"] == "info"
    assert record["logger"] == "bot.webhook"


FRAGMENTS = (
    "gh", "ghp_", "ghs_", "gho_", "ghu_", "ghr_", "github_pat_", "sk-", "eyJ", ".", "redis://",
    "rediss://", ":", "@", "-----BEGIN ", "RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
    "Authorization", "AUTHORIZATION", "authorization", "\"", "'", "=", " ", "Bearer ", "token ",
    "A1b2C3d4E5f6G7h8", "abcdefgh", "_", "-", "\n", "x", "pull_request", "é",
    "authorİzation", "AUTHORıZATION",
)  # fmt: skip


def test_the_cheap_check_never_hides_a_match_from_the_patterns() -> None:
    """Scrubbing with the literal pre-check equals running every pattern unconditionally."""
    rng = random.Random(20240611)
    redactor = Redactor()
    for _ in range(4000):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12)))
        expected = text
        for pattern, replacement in _PATTERNS:
            expected = pattern.sub(replacement, expected)
        assert redactor.scrub(text) == expected, text


def test_a_password_in_any_url_is_masked_in_log_lines() -> None:
    redactor = Redactor()
    out = redactor.scrub(
        "broker rediss://default:s3cr3t-pw@cache:6380/0 proxy http://u:pa55@p:3128/"
    )
    assert "s3cr3t-pw" not in out
    assert "pa55" not in out
    assert "rediss://default:***@cache:6380/0" in out
    assert "http://u:***@p:3128/" in out
