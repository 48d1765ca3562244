"""The request rules of ``POST /responses`` that the emulator enforces, in the API's order.

The official ``openai`` package's ``ResponseCreateParamsNonStreaming`` checks types;
the rest are rules those types cannot express: unknown top-level keys,
``temperature`` on reasoning models, ``store: false`` replay (no
``previous_response_id``, reasoning items only with ``encrypted_content``,
function outputs only for calls in the same input), strict schemas (``strict``)
and the context window when ``truncation`` is disabled.
"""

from __future__ import annotations

from typing import Any

from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)
from pydantic import TypeAdapter, ValidationError

from .answers import Answer, error
from .strict import strict_problem
from .tokens import count_tokens

_REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseCreateParamsNonStreaming)
_STREAM_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseCreateParamsStreaming)
_KNOWN_KEYS = frozenset(ResponseCreateParamsNonStreaming.__annotations__) | frozenset(
    ResponseCreateParamsStreaming.__annotations__
)
# Codex models refuse the ``minimal`` reasoning effort.
_NO_MINIMAL = ("gpt-5-codex", "gpt-5.1-codex", "gpt-5.2-codex", "gpt-5.3-codex")
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4", "codex")


def validate(body: dict[str, Any], context_window: int) -> Answer | None:
    """The 4xx the real endpoint gives this request body, or None when it is accepted."""
    unknown = sorted(set(body) - _KNOWN_KEYS)
    if unknown:
        return error(
            400, f"Unknown parameter: '{unknown[0]}'.", code="unknown_parameter",
            param=unknown[0],
        )  # fmt: skip
    try:
        adapter = _STREAM_ADAPTER if body.get("stream") else _REQUEST_ADAPTER
        adapter.validate_python(body, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first["loc"])
        return error(400, f"Invalid value for '{param}': {first['msg']}", param=param)
    model = str(body["model"])
    if "temperature" in body and model.startswith(REASONING_PREFIXES):
        return error(
            400,
            "Unsupported parameter: 'temperature' is not supported with this model.",
            code="unsupported_parameter",
            param="temperature",
        )
    effort = (body.get("reasoning") or {}).get("effort")
    if effort == "minimal" and model.startswith(_NO_MINIMAL):
        return error(
            400,
            f"Unsupported value: 'reasoning.effort' does not support 'minimal' with {model}.",
            code="unsupported_value",
            param="reasoning.effort",
        )
    if body.get("previous_response_id") is not None:
        return error(
            400,
            f"Previous response with id '{body['previous_response_id']}' not found.",
            code="previous_response_not_found",
            param="previous_response_id",
        )
    given = body.get("input")
    items: list[dict[str, Any]] = given if isinstance(given, list) else []
    calls = {item.get("call_id") for item in items if item.get("type") == "function_call"}
    for item in items:
        if item.get("type") == "reasoning" and not item.get("encrypted_content"):
            return error(
                404,
                f"Item with id '{item.get('id')}' not found. Items are not persisted when "
                "`store` is set to false.",
                param="input",
            )
        if item.get("type") == "function_call_output" and item.get("call_id") not in calls:
            return error(
                400,
                f"No tool call found for function call output with call_id {item.get('call_id')}.",
                param="input",
            )
    return _strict_schemas(body) or _context(body, context_window)


def _strict_schemas(body: dict[str, Any]) -> Answer | None:
    """Strict structured output and strict function tools must use strict-mode schemas."""
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema" and fmt.get("strict"):
        problem = strict_problem(fmt.get("schema"))
        if problem:
            return error(
                400,
                f"Invalid schema for response_format '{fmt.get('name')}': {problem}",
                code="invalid_json_schema",
                param="text.format.schema",
            )
    for i, tool in enumerate(body.get("tools") or []):
        if tool.get("type") == "function" and tool.get("strict"):
            problem = strict_problem(tool.get("parameters"))
            if problem:
                return error(
                    400,
                    f"Invalid schema for function '{tool.get('name')}': {problem}",
                    code="invalid_function_parameters",
                    param=f"tools[{i}].parameters",
                )
    return None


def _context(body: dict[str, Any], context_window: int) -> Answer | None:
    too_long = count_tokens(body) > context_window
    if body.get("truncation", "disabled") == "disabled" and too_long:
        return error(
            400,
            "Your input exceeds the context window of this model.",
            code="context_length_exceeded",
            param="input",
        )
    return None
