"""User-facing failure kinds and the retry backoff."""

from __future__ import annotations

import random

import httpx
import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded

from workers.failures import describe, retry_delay
from workers.github import errors as gh
from workers.model import errors as model


def model_error(status: int, code: str | None = None) -> model.ModelHTTPError:
    body = {"error": {"message": "x", "code": code, "param": None}}
    return model.ModelHTTPError.from_response(httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("exc", "kind", "transient"),
    [
        (
            gh.GitHubError.from_response(502, {"message": "Bad gateway"}, {}),
            "github_unavailable",
            True,
        ),
        (gh.TransportError("GET /x: timed out"), "github_unavailable", True),
        (
            gh.GitHubError.from_response(403, {"message": "x"}, {"retry-after": "60"}),
            "github_rate_limited",
            True,
        ),
        (
            gh.GitHubError.from_response(404, {"message": "Not Found"}, {}),
            "github_not_found",
            False,
        ),
        (
            gh.GitHubError.from_response(403, {"message": "Resource not accessible"}, {}),
            "github_permission",
            False,
        ),
        (
            gh.GitHubError.from_response(401, {"message": "Bad credentials"}, {}),
            "github_auth",
            False,
        ),
        (model_error(429, "rate_limit_exceeded"), "model_rate_limited", True),
        (model_error(429, "insufficient_quota"), "model_quota", False),
        (model_error(500), "model_unavailable", True),
        (model.ModelTimeout("read timed out"), "model_unavailable", True),
        (model_error(400, "invalid_request_error"), "model_refused", False),
        (redis.ConnectionError("refused"), "queue_unavailable", True),
        (ValueError("bug"), "internal", False),
        (SoftTimeLimitExceeded(), "timed_out", True),
    ],
)
def test_each_failure_has_a_kind_and_a_retry_decision(
    exc: BaseException, kind: str, transient: bool
) -> None:
    failure = describe(exc)
    assert (failure.kind, failure.transient) == (kind, transient)
    assert type(exc).__name__ not in failure.text
    assert failure.text.endswith(".")


def test_the_model_client_and_the_job_agree_on_what_is_transient() -> None:
    assert model_error(503).retryable
    assert describe(model_error(503)).transient
    assert not model_error(429, "insufficient_quota").retryable


def test_backoff_grows_and_stays_within_the_deadline_and_the_visibility_timeout() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, remaining=10_000, rng=rng) for n in range(10)]
    assert all(d is not None for d in delays)
    values = [d for d in delays if d is not None]
    assert values[0] <= 5
    assert values[3] > values[0]
    assert max(values) <= 300
    assert retry_delay(20, remaining=10_000, visibility_timeout=200, rng=rng) == 100
    assert retry_delay(5, remaining=30, rng=rng) == 30
    assert retry_delay(0, remaining=0.5, rng=rng) is None
