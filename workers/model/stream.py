"""Reading a streamed ``POST /responses`` (``stream: true``): events in, one response out.

The stream is a series of typed events (``response.created``, ``response.in_progress``,
``response.output_item.added``, ``response.output_text.delta``, ...,
``response.output_item.done``) that ends with exactly one of
``response.completed``, ``response.incomplete`` or ``response.failed``, whose
``response`` is the whole ``Response`` object, usage included; an ``error``
event ends it early. ``StreamReader.read`` returns that final object's JSON
and keeps what it saw on the way (the response id, the model, the characters
of output received) so that a call that ends early can still be accounted for.

The idle timeout is the HTTP client's read timeout: with a stream it bounds
the silence between two chunks, not the length of the call, so a long
reasoning call that keeps sending events is never cut while a dead connection
is noticed within the timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from httpx_sse import EventSource, SSEError

from workers.model.errors import ModelOutputError, StreamBroken, StreamStalled

FINAL_EVENTS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})
_DELTAS: Final = frozenset(
    {
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "response.refusal.delta",
    }
)


@dataclass(slots=True)
class StreamReader:
    """Reads one streamed answer; what it saw stays readable after a failure."""

    response_id: str | None = None
    model: str | None = None
    events: int = 0
    output_chars: int = 0
    kinds: list[str] = field(default_factory=list)

    def read(self, answer: httpx.Response, idle_timeout: float) -> dict[str, Any]:
        """The final ``Response`` JSON; ``StreamStalled`` / ``StreamBroken`` when it ends early."""
        try:
            for event in EventSource(answer).iter_sse():
                data = self._decode(event.data)
                kind = str(data.get("type") or event.event)
                self.events += 1
                self.kinds.append(kind)
                if kind == "response.created":
                    created = data.get("response") or {}
                    self.response_id = created.get("id")
                    self.model = created.get("model")
                elif kind in _DELTAS:
                    self.output_chars += len(str(data.get("delta") or ""))
                elif kind == "error":
                    raise StreamBroken(
                        f"the stream reported an error: {data.get('code') or 'error'}: "
                        f"{data.get('message') or 'no message'}"
                    )
                elif kind in FINAL_EVENTS:
                    final = data.get("response")
                    if not isinstance(final, dict):
                        raise ModelOutputError(f"a {kind} event without its response")
                    return final
        except httpx.ReadTimeout:
            raise StreamStalled(
                f"the stream sent nothing for {idle_timeout:g}s after {self.events} events"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise StreamBroken(
                f"the connection closed after {self.events} events: {type(exc).__name__}"
            ) from None
        except SSEError as exc:
            raise ModelOutputError(f"the answer is not an event stream: {exc}") from None
        raise StreamBroken(f"the stream ended after {self.events} events without a final one")

    @staticmethod
    def _decode(text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError:
            raise ModelOutputError("a stream event is not JSON") from None
        if not isinstance(data, dict):
            raise ModelOutputError("a stream event is not a JSON object")
        return data
