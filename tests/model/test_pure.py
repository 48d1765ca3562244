"""Pure parts of the model client: durations, retry waits, prices, output validation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest
from pydantic import ValidationError

from tests.model.helpers import FINDING
from workers.model import ModelSettings, PriceTable, RetryPolicy, Usage, parse_findings
from workers.model.errors import (
    ContextTooLong,
    KeyRejected,
    ModelHTTPError,
    ModelNotFound,
    QuotaExhausted,
    RateLimited,
    ServerError,
    UnsupportedParameter,
)
from workers.model.limits import header_fields
from workers.model.retry import backoff, parse_duration, server_delay, should_retry
from workers.model.wire import ModelResponse

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1s", 1.0),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("20", 20.0),
        ("", None),
        ("soon", None),
        ("6m0sx", None),
        ("s6m", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_server_delay_prefers_retry_after_ms() -> None:
    headers = {"retry-after-ms": "250", "retry-after": "9", "x-ratelimit-reset-tokens": "6m0s"}
    assert server_delay(headers, now=NOW) == pytest.approx(0.25)


def test_server_delay_reads_retry_after_seconds_and_http_date() -> None:
    assert server_delay({"Retry-After": "3"}, now=NOW) == 3.0
    date = format_datetime(NOW + timedelta(seconds=7), usegmt=True)
    assert server_delay({"retry-after": date}, now=NOW) == pytest.approx(7.0)


def test_server_delay_uses_the_reset_of_the_exhausted_limit() -> None:
    headers = {
        "x-ratelimit-remaining-requests": "10",
        "x-ratelimit-reset-requests": "12ms",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert server_delay(headers, now=NOW) == 360.0
    assert server_delay({"x-ratelimit-reset-requests": "2s"}, now=NOW) == 2.0
    # Reset times of limits with room left are no reason to wait.
    plenty = {"x-ratelimit-remaining-tokens": "900", "x-ratelimit-reset-tokens": "60s"}
    assert server_delay(plenty, now=NOW) is None
    assert server_delay({}, now=NOW) is None


def test_backoff_is_full_jitter_under_a_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(8.0, 0.5 * 2**attempt)
        samples = [backoff(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # jitter spreads up to the ceiling


def test_should_retry_obeys_the_server_hint() -> None:
    assert should_retry(False, {"x-should-retry": "true"})
    assert not should_retry(True, {"x-should-retry": "false"})
    assert should_retry(True, {})


def _error(status: int, code: str | None, param: str | None = None) -> httpx.Response:
    body = {"error": {"message": "m", "type": "t", "param": param, "code": code}}
    return httpx.Response(status, json=body, headers={"x-request-id": "req_1"})


@pytest.mark.parametrize(
    ("status", "code", "kind", "retryable"),
    [
        (429, "rate_limit_exceeded", RateLimited, True),
        (429, "insufficient_quota", QuotaExhausted, False),
        (400, "unsupported_parameter", UnsupportedParameter, False),
        (400, "unsupported_value", UnsupportedParameter, False),
        (400, "invalid_value", UnsupportedParameter, False),  # param "temperature" decides
        (400, None, UnsupportedParameter, False),
        (401, "invalid_api_key", KeyRejected, False),
        (403, None, KeyRejected, False),
        (404, "model_not_found", ModelNotFound, False),
        (400, "context_length_exceeded", ContextTooLong, False),
        (408, None, ServerError, True),
        (409, None, ServerError, True),
        (500, None, ServerError, True),
        (503, None, ServerError, True),
    ],
)
def test_status_mapping(status: int, code: str | None, kind: type, retryable: bool) -> None:
    error = ModelHTTPError.from_response(_error(status, code, "temperature"))
    assert type(error) is kind
    assert error.retryable is retryable
    assert error.request_id == "req_1"
    assert error.param == "temperature"


def test_error_from_a_non_json_body() -> None:
    error = ModelHTTPError.from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(error, ServerError)
    assert error.code is None
    assert "bad gateway" in error.message


def test_cost_bills_cached_input_and_output_including_reasoning() -> None:
    table = PriceTable.default()
    usage = Usage(input_tokens=1_000_000, cached_tokens=400_000, output_tokens=100_000)
    # 600k * 0.25 + 400k * 0.025 + 100k * 2.00, per million
    assert table.cost("gpt-5-codex-mini", usage) == Decimal("0.15") + Decimal("0.01") + Decimal(
        "0.2"
    )
    assert table.cost("gpt-5-codex-2025-09-15", usage) == table.cost("gpt-5-codex", usage)
    with pytest.raises(KeyError):
        table.cost("unknown-model", usage)


def test_price_table_overrides_from_json() -> None:
    table = PriceTable.from_json(
        '{"gpt-5-codex-mini": {"input": 1, "cached_input": 0.5, "output": 4}}',
        base=PriceTable.default(),
    )
    assert table.price("gpt-5-codex-mini").output == Decimal(4)
    assert table.price("gpt-5").output == Decimal("10.00")
    with pytest.raises(ValueError, match="negative"):
        PriceTable.from_json('{"m": {"input": -1, "cached_input": 0, "output": 0}}')


def test_parse_findings_accepts_the_contract() -> None:
    output = parse_findings({"findings": [FINDING], "needs_deeper_analysis": True})
    assert output.needs_deeper is True
    assert output.findings[0].path == "app.py"
    assert output.findings[0].badge == "P1"
    assert output.findings[0].suggestion == "x = 0\ny = 2"


@pytest.mark.parametrize(
    "change",
    [
        {"priority": 7},
        {"priority": "1"},
        {"title": ""},
        {"title": "   "},
        {"line_start": 5, "line_end": 4},
        {"line_start": 0},
        {"extra": "field"},
        {"suggestion": 3},
    ],
)
def test_parse_findings_rejects_broken_findings(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_findings({"findings": [{**FINDING, **change}], "needs_deeper_analysis": False})


def test_parse_findings_requires_the_flag() -> None:
    with pytest.raises(ValidationError):
        parse_findings({"findings": []})


def test_response_envelope_collects_text_calls_and_usage() -> None:
    body = {
        "id": "resp_1",
        "model": "gpt-5-codex-mini",
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"},
            {"type": "reasoning", "id": "rs_2", "summary": []},
            {"type": "function_call", "call_id": "c1", "name": "search", "arguments": "{}"},
            {
                "type": "message",
                "id": "m",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "{}", "annotations": []}],
            },
        ],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens_details": {"reasoning_tokens": 3},
        },
    }
    response = ModelResponse.from_json(body, request_id="req_9")
    assert response.text == "{}"
    assert [c.name for c in response.function_calls] == ["search"]
    assert response.usage == Usage(10, 4, 5, 3)
    # The reasoning item without encrypted content cannot be replayed statelessly.
    assert [i.get("id") for i in response.replay_items()] == ["rs_1", None, "m"]


def test_rate_limit_headers_become_absolute_state() -> None:
    fields = header_fields(
        {"x-ratelimit-remaining-tokens": "120", "x-ratelimit-reset-tokens": "6m0s"}, now=100.0
    )
    assert fields == {"remaining_tokens": 120.0, "reset_tokens_at": 460.0}


def test_settings_split_keys_and_read_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a, sk-b,")
    monkeypatch.setenv(
        "MODEL_PRICES", '{"gpt-5-codex-mini": {"input": 9, "cached_input": 1, "output": 9}}'
    )
    monkeypatch.setenv("MODEL_MONTHLY_BUDGET_USD", "25.50")
    config = ModelSettings().to_config()
    assert [k.get_secret_value() for k in config.keys] == ["sk-a", "sk-b"]
    assert config.prices.price("gpt-5-codex-mini").input == Decimal(9)
    assert config.monthly_budget_usd == Decimal("25.50")
    assert config.model == "gpt-5-codex-mini"
    assert config.reasoning_effort == "low"
    assert "sk-a" not in repr(config)


def test_settings_refuse_empty_and_placeholder_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", " , ")
    with pytest.raises(ValidationError):
        ModelSettings()
    monkeypatch.setenv("OPENAI_API_KEY", "changeme")
    with pytest.raises(ValidationError):
        ModelSettings()


def test_a_call_is_priced_at_the_tier_that_served_it() -> None:
    table = PriceTable.from_json(
        '{"house": {"input": 2, "cached_input": 0.2, "output": 8,'
        ' "priority": {"input": 5, "cached_input": 0.5, "output": 20}}}',
        base=PriceTable.default(),
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert table.cost("house", usage) == Decimal(10)
    assert table.cost("house", usage, "default") == Decimal(10)
    assert table.cost("house", usage, "auto") == Decimal(10)
    assert table.cost("house", usage, "priority") == Decimal(25)  # its own priority price
    assert table.cost("house", usage, "flex") == Decimal(5)  # half, none given
    assert table.cost("gpt-5.4", usage, "priority") == Decimal(35)  # twice 2.50 + 15
    assert table.custom == frozenset({"house"})
