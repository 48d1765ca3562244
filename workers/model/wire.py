"""The Responses API wire format: request bodies out, parsed responses in.

Response parsing is a trust boundary, so the envelope is read with pydantic
(unknown fields ignored, the fields we use type-checked) and then turned into
frozen values. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workers.model.errors import ModelOutputError


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more calls. ``output_tokens`` includes ``reasoning_tokens``."""

    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_tokens + other.cached_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _InputDetails(_Lenient):
    cached_tokens: int = 0


class _OutputDetails(_Lenient):
    reasoning_tokens: int = 0


class _Usage(_Lenient):
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_details: _InputDetails | None = None
    output_tokens_details: _OutputDetails | None = None


class _Incomplete(_Lenient):
    reason: str | None = None


class _Content(_Lenient):
    type: str
    text: str | None = None
    refusal: str | None = None


class _Item(_Lenient):
    type: str
    id: str | None = None
    content: list[_Content] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


class _Failure(_Lenient):
    code: str | None = None
    message: str | None = None


class _Envelope(_Lenient):
    id: str
    model: str
    status: str | None = None
    output: list[dict[str, Any]] = Field(default_factory=list)
    usage: _Usage | None = None
    incomplete_details: _Incomplete | None = None
    error: _Failure | None = None
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str


ResponseStatus = Literal["completed", "incomplete", "failed", "other"]


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One parsed ``Response``: its text, function calls, raw output items and usage."""

    id: str
    model: str
    status: ResponseStatus
    incomplete_reason: str | None
    text: str
    refusal: str | None
    function_calls: tuple[FunctionCall, ...]
    output_items: tuple[dict[str, Any], ...]
    usage: Usage
    request_id: str | None
    service_tier: str | None = None
    """The tier that served the call (``default``, ``flex``, ``priority``): its price applies."""
    error_code: str | None = None
    """For ``status: failed``: the ``error.code`` (``server_error``, ``rate_limit_exceeded``...)."""
    error_message: str | None = None

    @classmethod
    def from_json(cls, body: Any, *, request_id: str | None) -> Self:
        try:
            envelope = _Envelope.model_validate(body)
            items = [_Item.model_validate(item) for item in envelope.output]
        except ValidationError as exc:
            raise ModelOutputError(f"the response envelope is malformed: {exc}") from exc
        texts: list[str] = []
        refusals: list[str] = []
        calls: list[FunctionCall] = []
        for item in items:
            if item.type == "message":
                for part in item.content or ():
                    if part.type == "output_text" and part.text is not None:
                        texts.append(part.text)
                    elif part.type == "refusal" and part.refusal is not None:
                        refusals.append(part.refusal)
            elif item.type == "function_call":
                if item.call_id is None or item.name is None or item.arguments is None:
                    raise ModelOutputError("a function_call item lacks call_id, name or arguments")
                calls.append(FunctionCall(item.call_id, item.name, item.arguments))
        usage = envelope.usage
        status = envelope.status
        return cls(
            id=envelope.id,
            model=envelope.model,
            status=status if status in {"completed", "incomplete", "failed"} else "other",  # type: ignore[arg-type]
            incomplete_reason=(
                envelope.incomplete_details.reason if envelope.incomplete_details else None
            ),
            text="".join(texts),
            refusal="\n".join(refusals) or None,
            function_calls=tuple(calls),
            output_items=tuple(envelope.output),
            usage=Usage(
                input_tokens=usage.input_tokens,
                cached_tokens=usage.input_tokens_details.cached_tokens
                if usage.input_tokens_details
                else 0,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.output_tokens_details.reasoning_tokens
                if usage.output_tokens_details
                else 0,
            )
            if usage is not None
            else Usage(),
            request_id=request_id,
            service_tier=envelope.service_tier,
            error_code=envelope.error.code if envelope.error else None,
            error_message=envelope.error.message if envelope.error else None,
        )

    def replay_items(self) -> list[dict[str, Any]]:
        """Output items to send back as input on the next turn (``store: false`` has no state).

        Reasoning items travel with their ``encrypted_content``; messages and
        function calls keep only the fields the input schema accepts.
        """
        keep: Mapping[str, tuple[str, ...]] = {
            "reasoning": ("type", "id", "summary", "encrypted_content"),
            "function_call": ("type", "id", "call_id", "name", "arguments"),
            "message": ("type", "id", "role", "content", "status"),
        }
        replay: list[dict[str, Any]] = []
        for item in self.output_items:
            fields = keep.get(str(item.get("type")))
            if fields is None:
                continue
            if item.get("type") == "reasoning" and not item.get("encrypted_content"):
                # Without the encrypted content a stateless server cannot resolve the item.
                continue
            replay.append({name: item[name] for name in fields if name in item})
        return replay
