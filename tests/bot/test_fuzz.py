"""Fuzz the webhook endpoint: whatever arrives, signed or not, the answer is never a 5xx
other than the documented 503 (and with the broker up, not even that)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.main import WEBHOOK_PATH, create_app
from bot.signatures import sign
from tests.bot.conftest import SECRET, fixture_json, make_settings
from workers.redis_server import RedisServer

DOCUMENTED = {200, 202, 400, 401, 413}
EVENTS = ["pull_request", "issue_comment", "pull_request_review_comment", "ping", "installation",
          "push", "issues", "", " ", "pull_request\x00"]  # fmt: skip
BASES = [
    ("pull_request", "pull_request.opened.json"),
    ("issue_comment", "issue_comment.created.json"),
    ("pull_request_review_comment", "pull_request_review_comment.created.json"),
]

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_payload(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real payload with a few fields replaced by arbitrary JSON values."""
    event, name = draw(st.sampled_from(BASES))
    payload: dict[str, Any] = fixture_json(name)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(payload)))
        target = payload
        for part in path[:-1]:
            target = target[part]
        if draw(st.booleans()):
            target[path[-1]] = draw(json_value)
        else:
            target.pop(path[-1], None)
    return event, json.dumps(payload).encode()


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            if len(prefix) < 3:
                out.extend(_paths(value, (*prefix, key)))
    return out


@st.composite
def delivery(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    kind = draw(st.sampled_from(["mutated", "bytes", "json"]))
    if kind == "mutated":
        event, body = draw(mutated_payload())
    else:
        event = draw(st.sampled_from(EVENTS) | st.text(max_size=20))
        body = (
            draw(st.binary(max_size=300))
            if kind == "bytes"
            else json.dumps(draw(json_value)).encode()
        )
    if draw(st.booleans()):
        body = urlencode({"payload": body.decode("utf-8", "replace")}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        content_type = draw(
            st.sampled_from(
                ["application/json", "text/plain", "", "application/json; charset=utf-8"]
            )
        )
    headers = {"Content-Type": content_type}
    signature = draw(st.sampled_from(["valid", "valid", "valid", "forged", "missing", "garbage"]))
    if signature == "valid":
        headers["X-Hub-Signature-256"] = sign(SECRET.encode(), body)
    elif signature == "forged":
        headers["X-Hub-Signature-256"] = sign(b"wrong-secret", body)
    elif signature == "garbage":
        headers["X-Hub-Signature-256"] = draw(
            st.text(alphabet=st.characters(max_codepoint=126, min_codepoint=32), max_size=80)
        )
    if draw(st.integers(0, 9)) > 0:
        headers["X-GitHub-Event"] = event.encode("ascii", "ignore").decode().strip() or "x"
    if draw(st.integers(0, 9)) > 0:
        headers["X-GitHub-Delivery"] = draw(
            st.sampled_from([str(uuid.uuid4()), "same-delivery", "x" * 300])
        )
    return headers, body


@pytest.fixture(scope="module")
def fuzz_client(redis_server: RedisServer) -> Iterator[TestClient]:
    if redis_server.process is not None and redis_server.process.stderr is not None:
        redis_server.process.stderr.close()
    redis.Redis.from_url(redis_server.url).flushdb()
    app = create_app(make_settings(redis_server.url, max_body_bytes=64 * 1024))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=delivery())
def test_no_undocumented_status(
    fuzz_client: TestClient, case: tuple[dict[str, str], bytes]
) -> None:
    headers, body = case
    response = fuzz_client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code in DOCUMENTED, (response.status_code, response.text, headers)
    answer = response.json()
    assert isinstance(answer, dict)
    if response.status_code >= 400:
        assert answer["error"]
