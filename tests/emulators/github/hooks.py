"""GitHub as the webhook *sender*: signed deliveries, a delivery log, redeliveries.

``HookSender`` posts a delivery the way GitHub does (``X-GitHub-Event``,
``X-GitHub-Delivery``, ``X-GitHub-Hook-ID``, ``X-Hub-Signature-256`` over the
exact bytes, a 10 s timeout) and records every attempt as GitHub's
``GET /app/hook/deliveries`` lists it: newest first, a new numeric ``id`` per
attempt, the event's ``guid`` kept by redeliveries, ``status_code`` 0 when no
answer came back. A redelivery (``POST /app/hook/deliveries/{id}/attempts``)
is answered 202 at once and sent from a background thread, as GitHub does;
attempts older than the redelivery window (3 days) are refused with 422.
Nothing is ever redelivered on its own: that is the App's job.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .api import ApiError, Ctx, route

REDELIVERY_WINDOW_SECONDS = 3 * 24 * 3600
DELIVERY_TIMEOUT_SECONDS = 10.0


@dataclass
class Attempt:
    id: int
    guid: str
    event: str
    action: str | None
    body: bytes
    installation_id: int | None
    repository_id: int | None
    redelivery: bool
    delivered_at: float
    status_code: int = 0
    status: str = "pending"
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": datetime.fromtimestamp(self.delivered_at, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 3),
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }


@dataclass
class HookSender:
    """One App's webhook: where it points, its secret, and every attempt made."""

    url: str
    secret: bytes
    hook_id: int = 1
    clock: Callable[[], float] = time.time
    attempts: list[Attempt] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(90_000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def send(self, event: str, body: bytes, *, guid: str | None = None) -> Attempt:
        """Deliver ``body`` for ``event`` now (blocking) and record the attempt."""
        return self._deliver(guid or str(uuid.uuid4()), event, body, redelivery=False)

    def _deliver(self, guid: str, event: str, body: bytes, *, redelivery: bool) -> Attempt:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        attempt = Attempt(
            id=next(self._ids),
            guid=guid,
            event=event,
            action=payload.get("action") if isinstance(payload, dict) else None,
            body=body,
            installation_id=(payload.get("installation") or {}).get("id"),
            repository_id=(payload.get("repository") or {}).get("id"),
            redelivery=redelivery,
            delivered_at=self.clock(),
        )
        headers = {
            "User-Agent": "GitHub-Hookshot/emulator",
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": str(self.hook_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature-256": "sha256="
            + hmac.new(self.secret, body, hashlib.sha256).hexdigest(),
        }
        started = time.monotonic()
        try:
            answer = httpx.post(
                self.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS
            )
        except httpx.TimeoutException:
            attempt.status = "timed out"
        except httpx.TransportError:
            attempt.status = "failed to connect"
        else:
            attempt.status_code = answer.status_code
            attempt.status = (
                "OK" if answer.is_success else "Invalid HTTP Response: " + str(answer.status_code)
            )
        attempt.duration = time.monotonic() - started
        with self._lock:
            self.attempts.append(attempt)
        return attempt

    def listing(self) -> list[dict[str, Any]]:
        """Every attempt as the API lists it, newest first."""
        with self._lock:
            ordered = sorted(self.attempts, key=lambda a: (a.delivered_at, a.id), reverse=True)
        return [a.to_json() for a in ordered]

    def redeliver(self, attempt_id: int) -> int:
        """Queue a redelivery of attempt ``attempt_id``: 202, 404 or 422 like GitHub."""
        with self._lock:
            found = next((a for a in self.attempts if a.id == attempt_id), None)
        if found is None:
            return 404
        if self.clock() - found.delivered_at > REDELIVERY_WINDOW_SECONDS:
            return 422
        thread = threading.Thread(
            target=self._deliver,
            args=(found.guid, found.event, found.body),
            kwargs={"redelivery": True},
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()
        return 202

    def settle(self, timeout: float = 15.0) -> None:
        """Wait for the redeliveries under way."""
        for thread in list(self._threads):
            thread.join(timeout)

    def by_guid(self, guid: str) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.guid == guid]


# -- the App's delivery endpoints (App JWT only) ------------------------------------------


def _sender(ctx: Ctx) -> HookSender:
    sender = ctx.state.hooks
    if sender is None:
        raise ApiError(404, "Not Found")
    return sender


@route("GET", "/app/hook/deliveries", auth="app")
def list_deliveries(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    """Newest first; ``cursor`` is the id of the first attempt of the page (GitHub's cursors
    are opaque: clients follow the ``Link`` header)."""
    rows = _sender(ctx).listing()
    per_page = max(1, min(100, int(ctx.query.get("per_page", "30"))))
    cursor = ctx.query.get("cursor")
    start = 0
    if cursor is not None:
        start = next((i for i, row in enumerate(rows) if str(row["id"]) == cursor), len(rows))
    page = rows[start : start + per_page]
    headers: dict[str, str] = {}
    if start + per_page < len(rows):
        following = rows[start + per_page]["id"]
        headers["link"] = (
            f'<{ctx.base}/app/hook/deliveries?per_page={per_page}&cursor={following}>; rel="next"'
        )
    return 200, page, headers


@route("POST", "/app/hook/deliveries/{delivery_id}/attempts", auth="app")
def redeliver_attempt(ctx: Ctx) -> tuple[int, Any]:
    try:
        attempt_id = int(ctx.params["delivery_id"])
    except ValueError:
        raise ApiError(404, "Not Found") from None
    status = _sender(ctx).redeliver(attempt_id)
    if status == 404:
        raise ApiError(404, "Not Found")
    if status == 422:
        raise ApiError(422, "Validation Failed: the delivery is too old to redeliver")
    return 202, {}
