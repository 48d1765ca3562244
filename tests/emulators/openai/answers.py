"""What the Responses emulator answers: scripted ``Answer``s, their builders and ``Rule``s.

An ``Answer`` is either an HTTP error (``status_code`` != 200 and ``error``) or a
model turn: ``output_text`` and/or function ``calls``, a ``refusal`` content item,
or a response that ended ``incomplete`` or ``failed`` (with ``failure`` as its
``error`` object, as the real API reports a generation that broke off).

A streamed answer can carry a fault: ``stall_after`` events then silence for
``stall_seconds``, ``cut_after`` events then a dropped connection, or
``stream_error`` (an ``error`` event) after ``stream_error_after`` events;
``event_gap`` spaces every event (a call that is long but alive).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What a rule produces: either a model turn (``output_text``/``calls``) or an HTTP error."""

    status_code: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    output_text: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    response_status: str = "completed"
    delay: float = 0.0
    reasoning_tokens: int = 32
    refusal: str | None = None
    failure: dict[str, str] | None = None
    incomplete_reason: str = "max_output_tokens"
    service_tier: str | None = None
    stall_after: int | None = None
    stall_seconds: float = 30.0
    cut_after: int | None = None
    stream_error: dict[str, str] | None = None
    stream_error_after: int = 3
    event_gap: float = 0.0


def findings(items: list[dict[str, Any]], *, needs_deeper: bool = False) -> Answer:
    return text(json.dumps({"findings": items, "needs_deeper_analysis": needs_deeper}))


def text(output_text: str) -> Answer:
    return Answer(output_text=output_text)


def incomplete(partial: str = '{"findings": [', reason: str = "max_output_tokens") -> Answer:
    """A response cut off: ``max_output_tokens`` (the default) or ``content_filter``."""
    return Answer(output_text=partial, response_status="incomplete", incomplete_reason=reason)


def stalled(after: int = 4, seconds: float = 30.0, then: Answer | None = None) -> Answer:
    """A streamed answer that goes silent after ``after`` events (mid-answer)."""
    base = then or findings([])
    return Answer(**{**base.__dict__, "stall_after": after, "stall_seconds": seconds})


def paced(gap: float, then: Answer | None = None) -> Answer:
    """A streamed answer whose events come ``gap`` seconds apart (a long, live call)."""
    base = then or findings([])
    return Answer(**{**base.__dict__, "event_gap": gap})


def cut(after: int = 4, then: Answer | None = None) -> Answer:
    """A streamed answer whose connection is dropped after ``after`` events."""
    base = then or findings([])
    return Answer(**{**base.__dict__, "cut_after": after})


def stream_error(code: str = "server_error", message: str = "The server had an error.") -> Answer:
    """A streamed answer that ends with an ``error`` event after a few events."""
    return Answer(**{**findings([]).__dict__, "stream_error": {"code": code, "message": message}})


def refusal(message: str = "I'm sorry, I can't help with that.") -> Answer:
    """The model declines: a message whose only content item is ``type: "refusal"``."""
    return Answer(refusal=message)


def failed(
    message: str = "The model failed to generate a response.", code: str = "server_error"
) -> Answer:
    """A 200 whose response has ``status: "failed"`` and an ``error`` object (no output)."""
    return Answer(response_status="failed", failure={"code": code, "message": message})


def function_call(name: str, **arguments: Any) -> Answer:
    return Answer(calls=((name, arguments),))


def error(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    type_: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    return Answer(
        status_code=status_code,
        error={"message": message, "type": type_, "param": param, "code": code},
        headers=headers or {},
    )


def rate_limited(
    *,
    retry_after_ms: int | None = None,
    retry_after: str | None = None,
    reset_tokens: str | None = "1s",
    reset_requests: str | None = None,
) -> Answer:
    headers: dict[str, str] = {}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if reset_tokens is not None:
        headers["x-ratelimit-reset-tokens"] = reset_tokens
        headers["x-ratelimit-remaining-tokens"] = "0"
    if reset_requests is not None:
        headers["x-ratelimit-reset-requests"] = reset_requests
        headers["x-ratelimit-remaining-requests"] = "0"
    return error(
        429,
        "Rate limit reached for requests. Please try again later.",
        code="rate_limit_exceeded",
        type_="requests",
        headers=headers,
    )


def quota_exhausted() -> Answer:
    return error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        code="insufficient_quota",
        type_="insufficient_quota",
    )


def slow(seconds: float, then: Answer | None = None) -> Answer:
    base = then or findings([])
    return Answer(**{**base.__dict__, "delay": seconds})


@dataclass
class Rule:
    """Answer with ``answer`` for requests matching every given condition, ``times`` times.

    ``match`` is a substring of the instructions or of any input text; ``model``
    and ``key`` select by model name and API key. Rules are tried in order.
    """

    answer: Answer | Callable[[dict[str, Any]], Answer]
    match: str | None = None
    model: str | None = None
    key: str | None = None
    times: int | None = None
    used: int = 0

    def applies(self, body: dict[str, Any], key: str, haystack: str) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.model is not None and body.get("model") != self.model:
            return False
        if self.key is not None and key != self.key:
            return False
        return self.match is None or self.match in haystack
