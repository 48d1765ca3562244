"""The emulator's streamed answers: a ``Response`` as the server-sent events the API sends.

The order is the API's: ``response.created``, ``response.in_progress``, then per
output item ``response.output_item.added``, its deltas and their ``done``
events (``response.content_part.*`` and ``response.output_text.*`` for a
message, ``response.function_call_arguments.*`` for a function call),
``response.output_item.done``, and last one of ``response.completed``,
``response.incomplete`` or ``response.failed`` carrying the whole response.
Every event is checked with the SDK's ``ResponseStreamEvent`` union before it
is sent; ``sequence_number`` counts from 0.

Scripted faults (``Answer.stall_after``, ``Answer.cut_after``,
``Answer.stream_error``) stop the stream after that many events: silence for
``stall_seconds``, a connection closed mid-stream, or an ``error`` event.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from .answers import Answer

_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
_CHUNK = 16


class StreamCut(Exception):
    """Raised inside the body iterator: the server drops the connection mid-response."""


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a finished ``response``, each validated against the SDK's union."""
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        event = {"type": kind, "sequence_number": len(events), **fields}
        _EVENT.validate_python(event)
        events.append(event)

    opening = {**copy.deepcopy(response), "status": "in_progress", "output": [], "usage": None}
    opening.update(error=None, incomplete_details=None)
    emit("response.created", response=opening)
    emit("response.in_progress", response=opening)
    for index, item in enumerate(response["output"]):
        _item_events(emit, index, item)
    final = {
        "completed": "response.completed",
        "incomplete": "response.incomplete",
        "failed": "response.failed",
    }[response["status"]]
    emit(final, response=response)
    return events


def _item_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    kind = item["type"]
    item_id = item["id"]
    if kind == "message":
        emit(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "content": []},
        )
        for part_index, part in enumerate(item["content"]):
            empty = {**part, "text": ""} if part["type"] == "output_text" else {**part}
            if part["type"] == "refusal":
                empty["refusal"] = ""
            common = {"item_id": item_id, "output_index": index, "content_index": part_index}
            emit("response.content_part.added", part=empty, **common)
            if part["type"] == "output_text":
                for start in range(0, len(part["text"]), _CHUNK):
                    delta = part["text"][start : start + _CHUNK]
                    emit("response.output_text.delta", delta=delta, logprobs=[], **common)
                emit("response.output_text.done", text=part["text"], logprobs=[], **common)
            else:
                emit("response.refusal.delta", delta=part["refusal"], **common)
                emit("response.refusal.done", refusal=part["refusal"], **common)
            emit("response.content_part.done", part=part, **common)
    elif kind == "function_call":
        emit(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "arguments": ""},
        )
        arguments = item["arguments"]
        for start in range(0, len(arguments), _CHUNK):
            emit(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=index,
                delta=arguments[start : start + _CHUNK],
            )
        emit(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=index,
            arguments=arguments,
        )
    else:
        emit("response.output_item.added", output_index=index, item=item)
    emit("response.output_item.done", output_index=index, item=item)


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


async def event_stream(events: list[dict[str, Any]], answer: Answer) -> AsyncIterator[bytes]:
    """The SSE bytes of ``events``, with the answer's scripted fault applied."""
    for number, event in enumerate(events):
        if answer.stall_after is not None and number == answer.stall_after:
            await asyncio.sleep(answer.stall_seconds)
            return
        if answer.cut_after is not None and number == answer.cut_after:
            raise StreamCut("the connection is cut mid-stream")
        if answer.stream_error is not None and number == answer.stream_error_after:
            error = {
                "type": "error",
                "sequence_number": number,
                "param": None,
                **answer.stream_error,
            }
            _EVENT.validate_python(error)
            yield _sse(error)
            return
        if answer.event_gap and number:
            await asyncio.sleep(answer.event_gap)
        yield _sse(event)
