"""The Responses emulator enforces strict structured outputs and prompt caching as documented,
and can answer with refusals and failed responses; the bot's schemas and parser cope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openai.types.responses import Response

from tests.emulators.openai import (
    ResponsesEmulator,
    failed,
    findings,
    function_call,
    refusal,
)
from tests.emulators.openai.strict import strict_problem
from workers.commands.schema import FIX_SCHEMA
from workers.findings import FINDINGS_SCHEMA
from workers.model.tools import TOOL_DEFINITIONS
from workers.model.wire import ModelResponse

AUTH = {"Authorization": "Bearer sk-test-0"}
STRING = {"type": "string"}


def _obj(**properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _body(schema: Any = FINDINGS_SCHEMA, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-5-codex-mini",
        "instructions": "Review.",
        "input": [{"role": "user", "content": "diff"}],
        "text": {"format": {"type": "json_schema", "name": "x", "schema": schema, "strict": True}},
        "store": False,
        **extra,
    }


def _post(emulator: ResponsesEmulator, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(emulator.url + "/responses", json=body, headers=AUTH, timeout=5)


LOOSE = {"type": "object", "properties": {"a": STRING}, "required": ["a"]}


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"type": "array", "items": STRING}, "got 'type: \"array\"'"),
        ({"anyOf": [_obj(a=STRING), _obj(b=STRING)]}, "got 'type: \"None\"'"),
        (_obj(a={"anyOf": [LOOSE, {"type": "null"}]}), "('properties', 'a', 'anyOf', '0')"),
        (
            {
                **_obj(a={"$ref": "#/$defs/item"}),
                "$defs": {"item": {**_obj(b=STRING), "required": []}},
            },
            "Missing 'b'",
        ),
        (_obj(a={"allOf": [STRING]}), "'allOf' is not permitted"),
        (_obj(a={"type": "string", "default": "x"}), "'default' is not permitted"),
        ({**_obj(a=STRING), "additionalProperties": True}, "'additionalProperties' is required"),
    ],
)
def test_strict_mode_refuses_schemas_outside_the_supported_subset(
    openai_emulator: ResponsesEmulator, schema: dict[str, Any], says: str
) -> None:
    answer = _post(openai_emulator, _body(schema))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_json_schema"
    assert error["param"] == "text.format.schema"
    assert says in error["message"]


def test_a_property_named_default_is_not_the_default_keyword(
    openai_emulator: ResponsesEmulator,
) -> None:
    assert _post(openai_emulator, _body(_obj(default=STRING))).status_code == 200


def test_the_bots_schemas_are_strict() -> None:
    assert strict_problem(FINDINGS_SCHEMA) is None
    assert strict_problem(FIX_SCHEMA) is None
    for tool in TOOL_DEFINITIONS:
        assert strict_problem(tool["parameters"]) is None


def test_strict_function_tools_are_checked_too(openai_emulator: ResponsesEmulator) -> None:
    tools = [*TOOL_DEFINITIONS]
    assert _post(openai_emulator, _body(tools=tools)).status_code == 200
    loose = {"type": "function", "name": "f", "strict": True, "parameters": LOOSE}
    answer = _post(openai_emulator, _body(tools=[*tools, loose]))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == f"tools[{len(tools)}].parameters"
    assert answer.json()["error"]["message"].startswith("Invalid schema for function 'f':")


def test_refusal_is_a_content_item_the_bot_reads(openai_emulator: ResponsesEmulator) -> None:
    openai_emulator.add(refusal("I can't review that."))
    answer = _post(openai_emulator, _body())
    parsed = Response.model_validate(answer.json())
    message = parsed.output[-1]
    assert message.type == "message"
    assert [c.type for c in message.content] == ["refusal"]
    seen = ModelResponse.from_json(answer.json(), request_id=None)
    assert (seen.status, seen.text, seen.refusal) == ("completed", "", "I can't review that.")


def test_failed_response_carries_an_error_object(openai_emulator: ResponsesEmulator) -> None:
    openai_emulator.add(failed("The model broke off.", code="server_error"))
    answer = _post(openai_emulator, _body())
    assert answer.status_code == 200
    parsed = Response.model_validate(answer.json())
    assert parsed.status == "failed"
    assert parsed.error is not None
    assert (parsed.error.code, parsed.error.message) == ("server_error", "The model broke off.")
    assert ModelResponse.from_json(answer.json(), request_id=None).status == "failed"


def _cached(emulator: ResponsesEmulator, instructions: str, **extra: Any) -> int:
    emulator.add(findings([]))
    answer = _post(emulator, _body(instructions=instructions, **extra)).json()
    return int(answer["usage"]["input_tokens_details"]["cached_tokens"])


def test_prompt_cache_needs_a_shared_prefix_of_1024_tokens(
    openai_emulator: ResponsesEmulator,
) -> None:
    short = "s" * 4 * 1000  # 1,000 tokens
    assert _cached(openai_emulator, short) == 0
    assert _cached(openai_emulator, short) == 0
    long = "l" * 4 * 1300  # 1,300 tokens (+ the input): 1,024 + 2 steps of 128 = 1,280
    assert _cached(openai_emulator, long) == 0
    assert _cached(openai_emulator, long) == 1280
    assert _cached(openai_emulator, long + "more") == 1280
    assert _cached(openai_emulator, "x" + long[1:]) == 0  # the prefix differs at once
    assert _cached(openai_emulator, long[: 1100 * 4] + "y" * 800) == 1024
    assert _cached(openai_emulator, long, model="gpt-5.4") == 0
    assert _cached(openai_emulator, long, prompt_cache_key="other") == 0


def test_the_official_sdk_reads_the_emulators_stream_event_by_event(
    openai_emulator: ResponsesEmulator,
) -> None:
    from openai import OpenAI

    openai_emulator.add(function_call("search", pattern="x"), times=1)
    openai_emulator.add(findings([]))
    sdk = OpenAI(api_key="sk-test-0", base_url=openai_emulator.url, max_retries=0)
    try:
        for tools in (TOOL_DEFINITIONS, None):
            body = _body(**({"tools": tools} if tools else {}))
            events = list(sdk.responses.create(**body, stream=True))
            kinds = [event.type for event in events]
            assert kinds[:2] == ["response.created", "response.in_progress"]
            assert kinds[-1] == "response.completed"
            assert [event.sequence_number for event in events] == list(range(len(events)))
            delta = (
                "response.function_call_arguments.delta" if tools else "response.output_text.delta"
            )
            assert delta in kinds
            assert kinds.count("response.output_item.added") == kinds.count(
                "response.output_item.done"
            )
            final = events[-1].response  # type: ignore[union-attr]
            assert final.usage is not None
            assert final.usage.input_tokens > 0
    finally:
        sdk.close()


def test_a_stream_with_a_failed_status_ends_with_response_failed_and_its_error(
    openai_emulator: ResponsesEmulator,
) -> None:
    from openai import OpenAI

    openai_emulator.add(failed())
    sdk = OpenAI(api_key="sk-test-0", base_url=openai_emulator.url, max_retries=0)
    try:
        events = list(sdk.responses.create(**_body(), stream=True))
    finally:
        sdk.close()
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.error is not None  # type: ignore[union-attr]
    assert last.response.error.code == "server_error"  # type: ignore[union-attr]
