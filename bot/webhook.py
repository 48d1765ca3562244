"""``POST /api/github/webhooks`` as a plain ASGI app: the receiver's hot path.

Per delivery: reserve room for the body in the ``BodyBudget`` (or answer 503
unread), read the raw body up to the cap, ``WebhookEvent.from_http``
(signature over the raw bytes first, then decode), ``route``, and for a job
``Intake.accept`` (one Redis round trip on the event loop), then one JSON
answer. No framework layer sits in between: no dependency injection, no
request object, no thread hop. Bodies over ``OFF_LOOP_BYTES`` are verified and
decoded in a worker thread so one huge delivery does not stall the others.

Errors of the boundary (``bot.errors``) become their status here, through
``status_of``; anything else is a bug, logged with the delivery id and answered
500. A client that disconnects before its body arrived gets no answer.
Refusals a client without the secret can cause (401, 413, 503 busy) are
logged through ``HostileLog``, at most one line per kind and interval.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from bot.errors import (
    PayloadTooLarge,
    ReceiverBusy,
    SignatureError,
    WebhookError,
    status_of,
)
from bot.events import Body, WebhookEvent
from bot.intake import Intake
from bot.limits import BodyBudget, HostileLog
from bot.metrics import Metrics
from bot.routing import Identity, Route, route
from codex_common.logs import get_logger

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OFF_LOOP_BYTES = 256 * 1024
log = get_logger("bot.webhook")
# structlog drops a filtered-out line only after building its event dict; asking the
# standard logger first (a cached level check) makes the per-delivery line free when off.
_stdlib_log = logging.getLogger("bot.webhook")

# The request headers the endpoint reads (ASGI gives names lower-cased).
_WANTED = {
    name.encode(): name
    for name in (
        "content-length",
        "content-type",
        "x-hub-signature-256",
        "x-github-event",
        "x-github-delivery",
    )
}
_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")


class _Disconnected(Exception):
    """The client went away before its body arrived."""


def request_headers(scope: Scope) -> dict[str, str]:
    """The headers the endpoint reads, by lower-case name; the first of repeated ones wins."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = _WANTED.get(name)
        if key is not None and key not in found:
            found[key] = value.decode("latin-1")
    return found


def declared_length(declared: str | None, limit: int) -> int | None:
    """The body size the client announced, or None; raises ``PayloadTooLarge`` over ``limit``."""
    if declared is None:
        return None
    if not declared.isdigit():
        raise PayloadTooLarge("Content-Length is not a number")
    size = int(declared)
    if size > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    return size


async def read_capped(receive: Receive, size: int | None, limit: int) -> Body:
    """The raw body, refusing anything over ``limit`` bytes without reading it all.

    With ``size`` known the body goes into one buffer of that size (no list of
    chunks, no second copy to join them); a body longer than it announced is
    refused like one over the cap.
    """
    if size is not None:
        buffer = bytearray(size)
        view = memoryview(buffer)
        filled = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            end = filled + len(chunk)
            if end > size:
                raise PayloadTooLarge("body longer than its Content-Length")
            view[filled:end] = chunk
            filled = end
            if not message.get("more_body", False):
                if filled != size:
                    raise _Disconnected
                view.release()
                return buffer
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_UNKNOWN_LENGTH_STEP = 64 * 1024
_BUSY = "too many deliveries being read at once; retry later"


class _BudgetedReceive:
    """``receive`` for a body without ``Content-Length``: each chunk must fit the budget."""

    def __init__(self, receive: Receive, budget: BodyBudget, room: int) -> None:
        self._receive = receive
        self._budget = budget
        self.room = room
        self._read = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        self._read += len(message.get("body", b""))
        if self._read > self.room:
            more = max(self._read - self.room, _UNKNOWN_LENGTH_STEP)
            if not self._budget.try_grow(more):
                raise ReceiverBusy(_BUSY)
            self.room += more
        return message


def _verify_and_route(
    headers: dict[str, str], body: Body, secrets: tuple[bytes, ...], identity: Identity
) -> tuple[WebhookEvent, Route]:
    event = WebhookEvent.from_http(headers, body, secrets)
    return event, route(event, identity)


async def respond(
    send: Send,
    status: int,
    answer: dict[str, Any],
    *,
    retry_after: int | None = None,
    close: bool = False,
) -> None:
    body = orjson.dumps(answer)
    headers = [_JSON, (b"content-length", b"%d" % len(body))]
    if retry_after is not None:
        headers.append((b"retry-after", b"%d" % retry_after))
    if close:
        headers.append(_CLOSE)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """The ASGI app of the webhook route; built once by ``create_app``."""

    secrets: tuple[bytes, ...]
    identity: Identity
    intake: Intake
    metrics: Metrics
    max_body_bytes: int
    budget: BodyBudget
    hostile: HostileLog

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        try:
            status, answer = await self._handle(headers, receive)
        except WebhookError as exc:
            await self._refuse(send, headers, exc)
            return
        except _Disconnected:
            return
        except Exception:
            # The edge's catch-all: a bug, not a refusal. Logged with the delivery id.
            log.exception("delivery failed", delivery_id=headers.get("x-github-delivery"))
            await respond(send, 500, {"error": "internal error"})
            return
        await respond(send, status, answer)

    async def _handle(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        size = declared_length(headers.get("content-length"), self.max_body_bytes)
        # Room for the whole body before a byte of it is read; a body of unknown length
        # reserves as it arrives (``_BudgetedReceive``).
        room = _UNKNOWN_LENGTH_STEP if size is None else size
        if not self.budget.try_reserve(room):
            raise ReceiverBusy(_BUSY)
        metered = _BudgetedReceive(receive, self.budget, room)
        try:
            return await self._read_and_accept(headers, metered if size is None else receive, size)
        finally:
            self.budget.release(metered.room)

    async def _read_and_accept(
        self, headers: dict[str, str], receive: Receive, size: int | None
    ) -> tuple[int, dict[str, Any]]:
        body = await read_capped(receive, size, self.max_body_bytes)
        if len(body) > OFF_LOOP_BYTES:
            event, decision = await run_in_threadpool(
                _verify_and_route, headers, body, self.secrets, self.identity
            )
        else:
            event, decision = _verify_and_route(headers, body, self.secrets, self.identity)
        if decision.kind != "job":
            self.metrics.deliveries.labels(event.name, decision.kind).inc()
            if decision.kind == "logged" and _stdlib_log.isEnabledFor(logging.INFO):
                log.info(
                    "event logged",
                    delivery_id=event.delivery_id,
                    github_event=event.name,
                    reason=decision.reason,
                )
            status = 202 if decision.kind == "ignored" else 200
            return status, {"status": decision.kind, "reason": decision.reason}
        accepted = await self.intake.accept(event.delivery_id, event.body_digest, decision)
        outcome = "duplicate" if accepted.duplicate else "accepted"
        self.metrics.deliveries.labels(event.name, outcome).inc()
        if _stdlib_log.isEnabledFor(logging.INFO):
            log.info(
                "delivery " + outcome,
                delivery_id=event.delivery_id,
                github_event=event.name,
                job_id=accepted.job_id,
                reason=decision.reason,
            )
        answer = {"status": outcome, "job_id": accepted.job_id, "delivery_id": event.delivery_id}
        return (200 if accepted.duplicate else 202), answer

    async def _refuse(self, send: Send, headers: dict[str, str], exc: WebhookError) -> None:
        status = status_of(exc)
        # Refused before the signature was checked (401, 413): the event header is the
        # sender's word only, and must not mint metric labels.
        event = headers.get("x-github-event") if status not in (401, 413) else None
        self.metrics.deliveries.labels(event or "unverified", f"rejected_{status}").inc()
        # The sender's word, shortened: it only helps find the delivery in GitHub's log.
        delivery_id = (headers.get("x-github-delivery") or "")[:80] or None
        if isinstance(exc, SignatureError):
            self.hostile.record("bad_signature", error=exc.detail, delivery_id=delivery_id)
        elif isinstance(exc, PayloadTooLarge):
            self.hostile.record("body_too_large", error=exc.detail, delivery_id=delivery_id)
        elif isinstance(exc, ReceiverBusy):
            self.hostile.record("bodies_busy", delivery_id=delivery_id)
        else:
            log.warning(
                "delivery refused",
                status=status,
                error=exc.detail,
                delivery_id=headers.get("x-github-delivery"),
            )
        retry_after = 30 if status == 503 else None
        # A body left unread (413, busy) is not read later either: the connection closes.
        close = isinstance(exc, PayloadTooLarge | ReceiverBusy)
        await respond(send, status, {"error": exc.detail}, retry_after=retry_after, close=close)
