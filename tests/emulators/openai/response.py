"""The body of a 200 from the emulator: a ``Response`` the official SDK parses.

Output items follow the real order: a reasoning item (with ``encrypted_content``
when ``include`` asks for it), function calls, then the assistant message with
``output_text`` or a ``refusal`` item. A ``failed`` answer carries its ``error``
object and no message.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from openai.types.responses import Response

from .answers import Answer
from .tokens import count_tokens


def response_body(body: dict[str, Any], answer: Answer, cached_tokens: int) -> dict[str, Any]:
    """The ``Response`` JSON for a 200 ``answer``, checked with the SDK's type before it goes."""
    include = body.get("include") or []
    output: list[dict[str, Any]] = [
        {
            "id": f"rs_{uuid.uuid4().hex}",
            "type": "reasoning",
            "summary": [],
            **(
                {"encrypted_content": f"enc_{uuid.uuid4().hex}"}
                if "reasoning.encrypted_content" in include
                else {}
            ),
        }
    ]
    out_text = ""
    for name, arguments in answer.calls:
        output.append(
            {
                "id": f"fc_{uuid.uuid4().hex}",
                "type": "function_call",
                "call_id": f"call_{uuid.uuid4().hex[:12]}",
                "name": name,
                "arguments": json.dumps(arguments),
                "status": "completed",
            }
        )
    if answer.refusal is not None:
        output.append(
            {
                "id": f"msg_{uuid.uuid4().hex}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "refusal", "refusal": answer.refusal}],
            }
        )
    if answer.output_text is not None:
        out_text = answer.output_text
        message_status = "incomplete" if answer.response_status == "incomplete" else "completed"
        output.append(
            {
                "id": f"msg_{uuid.uuid4().hex}",
                "type": "message",
                "role": "assistant",
                "status": message_status,
                "content": [{"type": "output_text", "text": out_text, "annotations": []}],
            }
        )
    input_tokens = count_tokens(body)
    cached = min(cached_tokens, input_tokens)
    output_tokens = math.ceil(len(out_text) / 4) + answer.reasoning_tokens + 8 * len(answer.calls)
    if answer.response_status == "incomplete" and answer.incomplete_reason == "max_output_tokens":
        output_tokens = int(body.get("max_output_tokens") or output_tokens)
    response = {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": time.time(),
        "model": body["model"],
        "status": answer.response_status,
        "error": answer.failure,
        "incomplete_details": (
            {"reason": answer.incomplete_reason} if answer.response_status == "incomplete" else None
        ),
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
        "service_tier": answer.service_tier or _tier(body.get("service_tier")),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": 1.0,
        "truncation": body.get("truncation", "disabled"),
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        },
    }
    # An answer the SDK could not parse would test nothing: check before sending.
    Response.model_validate(response)
    return response


def _tier(requested: object) -> str:
    """The tier that served the call: ``auto`` and none resolve to ``default``."""
    return str(requested) if requested in {"flex", "priority"} else "default"
