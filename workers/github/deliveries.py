"""The App's webhook deliveries, as GitHub recorded them (App JWT only).

GitHub does not redeliver a failed delivery by itself ("Handling failed
webhook deliveries"); an App lists its recent deliveries and asks for the
failed ones again:

* ``GET /app/hook/deliveries``: newest first, 100 a page, cursor pagination
  through the ``Link`` header. Each row is one *attempt*: a redelivery keeps
  the event's ``guid`` and gets a new numeric ``id``.
* ``POST /app/hook/deliveries/{id}/attempts``: 202, asynchronous; only the
  last 3 days (7 on Enterprise Server) can be redelivered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from github.Requester import Requester

from .client import call, next_link


@dataclass(frozen=True, slots=True)
class HookDelivery:
    """One delivery attempt as GitHub lists it."""

    id: int
    guid: str
    delivered_at: float  # unix time
    redelivery: bool
    status_code: int
    event: str
    action: str | None

    @property
    def succeeded(self) -> bool:
        """GitHub counts an attempt as delivered when the receiver answered 2xx."""
        return 200 <= self.status_code < 300

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        when = datetime.fromisoformat(str(data["delivered_at"]).replace("Z", "+00:00"))
        action = data.get("action")
        return cls(
            id=int(data["id"]),
            guid=str(data["guid"]),
            delivered_at=when.timestamp(),
            redelivery=bool(data.get("redelivery", False)),
            # 0 when no HTTP answer came back at all (timeout, connection refused).
            status_code=int(data.get("status_code") or 0),
            event=str(data.get("event", "")),
            action=None if action is None else str(action),
        )


def iter_deliveries(requester: Requester, *, since: float) -> Iterator[HookDelivery]:
    """Attempts delivered at or after ``since`` (unix time), newest first.

    Pages are read only while they reach back to ``since``: GitHub lists newest
    first, so the first older row ends the walk.
    """
    url: str | None = "/app/hook/deliveries"
    params: Mapping[str, Any] | None = {"per_page": 100}
    while url is not None:
        headers, data = call(requester, "GET", url, params=params)
        for row in data if isinstance(data, list) else ():
            delivery = HookDelivery.from_dict(row)
            if delivery.delivered_at < since:
                return
            yield delivery
        url, params = next_link(headers), None


def redeliver(requester: Requester, delivery_id: int) -> None:
    """Ask GitHub to send delivery ``delivery_id`` again (202; it arrives asynchronously)."""
    call(requester, "POST", f"/app/hook/deliveries/{delivery_id}/attempts")
