"""The emulator enforces the Responses API's rules the way the real endpoint does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openai.types.responses import Response

from tests.emulators.openai import ResponsesEmulator, findings, function_call
from workers.findings import FINDINGS_SCHEMA
from workers.model.tools import TOOL_DEFINITIONS

AUTH = {"Authorization": "Bearer sk-test-0"}


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-5-codex-mini",
        "instructions": "Review.",
        "input": [{"role": "user", "content": "diff"}],
        "text": {
            "format": {
                "type": "json_schema",
                "name": "review_findings",
                "schema": FINDINGS_SCHEMA,
                "strict": True,
            }
        },
        "store": False,
        **extra,
    }


def _post(emulator: ResponsesEmulator, body: dict[str, Any], **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", AUTH)
    return httpx.post(emulator.url + "/responses", json=body, headers=headers, timeout=5, **kw)


def test_valid_request_gets_a_response_the_sdk_parses(openai_emulator: ResponsesEmulator) -> None:
    openai_emulator.add(findings([], needs_deeper=True))
    answer = _post(openai_emulator, _body())
    assert answer.status_code == 200
    assert answer.headers["x-request-id"].startswith("req_")
    assert answer.headers["x-ratelimit-limit-tokens"].isdigit()
    parsed = Response.model_validate(answer.json())
    assert parsed.output_text == '{"findings": [], "needs_deeper_analysis": true}'
    assert parsed.usage is not None
    assert parsed.usage.input_tokens > 0


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        (_body(bogus=1), 400, "unknown_parameter", "bogus"),
        (_body(max_output_tokens="many"), 400, None, "max_output_tokens"),
        (_body(temperature=0.2), 400, "unsupported_parameter", "temperature"),
        (_body(previous_response_id="resp_1"), 400, "previous_response_not_found", None),
        (
            _body(input=[{"type": "reasoning", "id": "rs_1", "summary": []}]),
            404,
            None,
            "input",
        ),
        (
            _body(input=[{"type": "function_call_output", "call_id": "c9", "output": "x"}]),
            400,
            None,
            "input",
        ),
    ],
)
def test_invalid_requests_get_the_real_error_shape(
    openai_emulator: ResponsesEmulator,
    body: dict[str, Any],
    status: int,
    code: str | None,
    param: str | None,
) -> None:
    answer = _post(openai_emulator, body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    if param is not None:
        assert error["param"] == param


def test_temperature_is_accepted_by_non_reasoning_models(
    openai_emulator: ResponsesEmulator,
) -> None:
    openai_emulator.models.add("gpt-4.1")
    assert _post(openai_emulator, _body(model="gpt-4.1", temperature=0.2)).status_code == 200


def test_loose_schema_is_refused_in_strict_mode(openai_emulator: ResponsesEmulator) -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = _body(
        text={"format": {"type": "json_schema", "name": "x", "schema": loose, "strict": True}}
    )
    answer = _post(openai_emulator, body)
    assert answer.status_code == 400
    assert "additionalProperties" in answer.json()["error"]["message"]


def test_auth_is_required(openai_emulator: ResponsesEmulator) -> None:
    assert _post(openai_emulator, _body(), headers={}).status_code == 401
    wrong = {"Authorization": "Bearer sk-wrong"}
    assert _post(openai_emulator, _body(), headers=wrong).json()["error"]["code"] == (
        "invalid_api_key"
    )


def test_overlong_input_needs_truncation() -> None:
    emulator = ResponsesEmulator(context_window=10).serve()
    try:
        long_input = [{"role": "user", "content": "x" * 400}]
        refused = _post(emulator, _body(input=long_input))
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "context_length_exceeded"
        assert _post(emulator, _body(input=long_input, truncation="auto")).status_code == 200
    finally:
        emulator.stop()


def test_models_are_listed(openai_emulator: ResponsesEmulator) -> None:
    auth = {"Authorization": "Bearer sk-test-0"}
    answer = httpx.get(openai_emulator.url + "/models", headers=auth, timeout=5)
    ids = [m["id"] for m in answer.json()["data"]]
    assert "gpt-5-codex-mini" in ids
    assert "gpt-5.4" in ids
    assert "gpt-5-codex" not in ids  # shut down on 2026-07-23
    one = httpx.get(openai_emulator.url + "/models/gpt-5.4", headers=auth, timeout=5)
    assert one.json() == {
        "id": "gpt-5.4", "object": "model", "created": 1_700_000_000, "owned_by": "openai"
    }  # fmt: skip
    gone = httpx.get(openai_emulator.url + "/models/gpt-5-codex", headers=auth, timeout=5)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "model_not_found")
    assert httpx.get(openai_emulator.url + "/models", timeout=5).status_code == 401


def test_codex_models_refuse_minimal_effort(openai_emulator: ResponsesEmulator) -> None:
    answer = _post(openai_emulator, _body(reasoning={"effort": "minimal"}))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unsupported_value"
    assert answer.json()["error"]["param"] == "reasoning.effort"
    openai_emulator.add(findings([]))
    allowed = _post(openai_emulator, _body(model="gpt-5-mini", reasoning={"effort": "minimal"}))
    assert allowed.status_code == 200


def test_a_model_the_api_does_not_serve_is_a_404_model_not_found(
    openai_emulator: ResponsesEmulator,
) -> None:
    answer = _post(openai_emulator, _body(model="gpt-5-codex"))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "model_not_found"


def test_a_revoked_key_is_a_401(openai_emulator: ResponsesEmulator) -> None:
    openai_emulator.revoke("sk-test-0")
    answer = _post(openai_emulator, _body())
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"


def test_tool_choice_none_never_gets_function_calls(openai_emulator: ResponsesEmulator) -> None:
    openai_emulator.add(function_call("search", pattern="x"))
    body = _body(tools=TOOL_DEFINITIONS, tool_choice="none")
    output = _post(openai_emulator, body).json()["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]
