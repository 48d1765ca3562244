"""What the receiver grants one client, and how hostile traffic is reported.

Pure values and bookkeeping, no I/O: the connection guard (``bot.server``)
and the webhook endpoint (``bot.webhook``) hold them.

* ``ReceiverLimits``: every bound in one frozen value, built from ``WebSettings``.
* ``BodyBudget``: the bodies being read at once, counted and in bytes. A body
  is admitted only when its declared size still fits (a body without
  ``Content-Length`` reserves as it arrives, and is refused when the next
  chunk does not fit), so the memory held by bodies in flight never exceeds
  ``body_buffer_bytes`` whatever clients send; the rest are refused with 503,
  before a byte of their body is read when they declared their size.
* ``HostileLog``: one warning line per kind of refusal per ``interval``
  seconds, carrying how many happened since the last line, so a flood of
  refusals cannot flood the log too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from codex_common.logs import get_logger

HostileKind = Literal[
    "header_timeout",
    "body_timeout",
    "header_too_large",
    "connection_evicted",
    "connection_refused",
    "invalid_request",
    "body_too_large",
    "bad_signature",
    "bodies_busy",
]


@dataclass(frozen=True, slots=True)
class ReceiverLimits:
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 10.0
    max_header_bytes: int = 32 * 1024
    max_connections: int = 1000
    max_body_reads: int = 256
    body_buffer_bytes: int = 64 * 1024 * 1024
    max_body_bytes: int = 25 * 1024 * 1024
    hostile_log_interval_seconds: float = 10.0


@dataclass(slots=True)
class BodyBudget:
    """Bodies being read at once: at most ``max_bodies``, at most ``max_bytes`` together."""

    max_bodies: int
    max_bytes: int
    bodies: int = 0
    reserved: int = 0

    def try_reserve(self, size: int) -> bool:
        """Reserve ``size`` bytes for one body; False (nothing reserved) when it does not fit."""
        if self.bodies >= self.max_bodies or self.reserved + size > self.max_bytes:
            return False
        self.bodies += 1
        self.reserved += size
        return True

    def try_grow(self, size: int) -> bool:
        """Reserve ``size`` more bytes for a body already admitted (one of unknown length)."""
        if self.reserved + size > self.max_bytes:
            return False
        self.reserved += size
        return True

    def release(self, size: int) -> None:
        self.bodies -= 1
        self.reserved -= size


@dataclass(slots=True)
class _Tally:
    last_logged: float
    suppressed: int = 0


@dataclass(slots=True)
class HostileLog:
    """Rate-limited warnings about refused clients, one line per kind per ``interval``.

    The first refusal of a kind is logged at once; later ones within
    ``interval`` seconds are counted and reported by the next line of that
    kind (``count`` is the number of refusals the line stands for), or by
    ``flush``, which the owner calls on a timer (the connection guard, the
    app's lifespan) and, for the app, once more at shutdown.
    """

    interval: float
    clock: Callable[[], float] = time.monotonic
    emit: Callable[..., Any] = field(default_factory=lambda: get_logger("bot.hostile").warning)
    _tallies: dict[str, _Tally] = field(default_factory=dict)

    def record(self, kind: HostileKind, **context: Any) -> None:
        now = self.clock()
        tally = self._tallies.get(kind)
        if tally is None or now - tally.last_logged >= self.interval:
            count = 1 + (tally.suppressed if tally is not None else 0)
            self._tallies[kind] = _Tally(last_logged=now)
            self.emit("hostile client refused", kind=kind, count=count, **context)
            return
        tally.suppressed += 1

    def pending(self) -> int:
        """Refusals counted but not yet reported."""
        return sum(t.suppressed for t in self._tallies.values())

    def flush(self, *, force: bool = False) -> None:
        """Report every count still held whose interval has passed (all, with ``force``)."""
        now = self.clock()
        for kind, tally in self._tallies.items():
            if tally.suppressed and (force or now - tally.last_logged >= self.interval):
                self.emit("hostile client refused", kind=kind, count=tally.suppressed)
                tally.suppressed = 0
                tally.last_logged = now
