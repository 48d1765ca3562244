"""The receiver's HTTP server: uvicorn with a connection guard in front of the app.

uvicorn (httptools) parses requests; ``GuardedHttpProtocol`` adds what it does
not bound, per connection and for the process:

* headers must arrive within ``header_timeout_seconds`` of a request's first
  byte (or of the connection, for its first request), else the connection is
  closed; they may not exceed ``max_header_bytes``, else 431 and close, before
  the parser sees the rest;
* a body must arrive within ``body_timeout_seconds`` of its headers, else the
  connection is closed (the app sees a disconnect and frees what it held);
* at most ``max_connections`` connections are open: a new one over the cap
  closes the longest-waiting connection that has not finished its headers (or
  sits idle between requests); with none such, the new one is closed at once.
  So idle or half-sent connections cannot lock out a client that sends its
  request, and the process never runs out of file descriptors;
* a request the parser refuses gets 400 and the connection closes; one asking
  to upgrade the protocol is served as a plain request;
* every refusal goes to ``HostileLog`` (rate-limited).

The webhook endpoint bounds the bodies read at once (``bot.limits.BodyBudget``).
``run`` starts it like ``uvicorn.run`` does, with these limits carried by the
config to every worker process, after raising the process's open-file limit
to what ``max_connections`` needs.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import weakref
from collections import OrderedDict
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from bot.limits import HostileKind, HostileLog, ReceiverLimits
from codex_common.logs import get_logger

log = get_logger("bot.server")

# Descriptors a process needs besides its client connections: the listening socket,
# Redis, logs, the metrics listener, the event loop's own.
SPARE_FILES = 64
_IDLE, _HEADERS, _BODY, _APP, _DISCARD = range(5)
# How long a refused connection's remaining bytes are read and dropped before it closes.
_LINGER_SECONDS = 2.0
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\n"
    b"request header fields too large"
)


class GuardedConfig(uvicorn.Config):
    """``uvicorn.Config`` that carries the receiver's limits to every worker process."""

    def __init__(self, *args: Any, limits: ReceiverLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits


class ConnectionGuard:
    """The per-server state every connection of one process shares."""

    def __init__(self, limits: ReceiverLimits) -> None:
        self.limits = limits
        self.hostile = HostileLog(interval=limits.hostile_log_interval_seconds)
        # Connections that may be closed to make room, oldest first.
        self.evictable: OrderedDict[GuardedHttpProtocol, None] = OrderedDict()
        self._flush: asyncio.TimerHandle | None = None

    def record(self, kind: HostileKind, loop: asyncio.AbstractEventLoop) -> None:
        self.hostile.record(kind)
        if self.hostile.pending() and self._flush is None:
            self._flush = loop.call_later(
                self.limits.hostile_log_interval_seconds, self._flush_now, loop
            )

    def _flush_now(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush = None
        self.hostile.flush()
        if self.hostile.pending():
            self._flush = loop.call_later(
                self.limits.hostile_log_interval_seconds, self._flush_now, loop
            )


_GUARDS: weakref.WeakKeyDictionary[ServerState, ConnectionGuard] = weakref.WeakKeyDictionary()


def guard_for(server_state: ServerState, limits: ReceiverLimits) -> ConnectionGuard:
    guard = _GUARDS.get(server_state)
    if guard is None:
        guard = _GUARDS[server_state] = ConnectionGuard(limits)
    return guard


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines, a header cap and a
    connection cap (see the module docstring)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = getattr(config, "limits", None) or ReceiverLimits()
        self.guard = guard_for(server_state, limits)
        self.limits = self.guard.limits
        self.phase = _IDLE
        self.header_bytes = 0
        self.header_tail = b""  # the last bytes read in the headers phase
        self.deadline: asyncio.TimerHandle | None = None

    # Connection life
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        at_cap = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        if at_cap and not self._make_room():
            self.guard.record("connection_refused", self.loop)
            transport.abort()
            return
        self.phase = _HEADERS
        self._enter_headers()

    def _make_room(self) -> bool:
        while self.guard.evictable:
            victim, _ = self.guard.evictable.popitem(last=False)
            if victim.transport is not None and not victim.transport.is_closing():
                self.guard.record("connection_evicted", self.loop)
                victim.transport.abort()
                return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.guard.evictable.pop(self, None)
        super().connection_lost(exc)

    # Phases
    def _enter_headers(self) -> None:
        # From idle, the bytes that began this request were counted already.
        if self.phase != _IDLE:
            self.header_bytes = 0
            self.header_tail = b""
        self.phase = _HEADERS
        self.guard.evictable[self] = None
        self._arm(self.limits.header_timeout_seconds, "header_timeout")

    def _arm(self, seconds: float, kind: HostileKind) -> None:
        self._cancel_deadline()
        self.deadline = self.loop.call_later(seconds, self._expired, kind)

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self, kind: HostileKind) -> None:
        self.deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.guard.record(kind, self.loop)
            self.transport.close()

    # Bytes in
    def data_received(self, data: bytes) -> None:
        if self.phase == _DISCARD:
            return
        if self.phase in (_IDLE, _HEADERS):
            room = max(0, self.limits.max_header_bytes - self.header_bytes)
            # Headers that end within the room left (their final blank line included, even
            # split across two reads) are fine, whatever body bytes follow them.
            if len(data) > room:
                seen = self.header_tail + data[: room + 4]
                if b"\r\n\r\n" not in seen:
                    self._refuse_headers()
                    return
            self.header_bytes += len(data)
            self.header_tail = data[-3:]
        if self.parser is None:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No upgrade is served here: the request goes on as a plain one (uvicorn's own
            # handling, without its two warning lines per request).
            self.guard.record("invalid_request", self.loop)
        except httptools.HttpParserError:
            self._refuse_invalid("invalid HTTP request")

    def _refuse_invalid(self, message: str) -> None:
        self.guard.record("invalid_request", self.loop)
        self._cancel_deadline()
        if not self.transport.is_closing():
            self.send_400_response(message)

    def _refuse_headers(self) -> None:
        self.guard.record("header_too_large", self.loop)
        self._cancel_deadline()
        if self.transport.is_closing():
            return
        self.transport.write(_431)
        # A lingering close: closing with the client's bytes unread would reset the
        # connection and could destroy the answer in flight. Send it, end our side, and
        # read (and drop) what the client still sends for a moment before closing.
        self.phase = _DISCARD
        self.guard.evictable.pop(self, None)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.deadline = self.loop.call_later(_LINGER_SECONDS, self.transport.abort)

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase != _HEADERS:
            self._enter_headers()

    def on_headers_complete(self) -> None:
        self.guard.evictable.pop(self, None)
        self.phase = _BODY
        self._arm(self.limits.body_timeout_seconds, "body_timeout")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        self.phase = _APP
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request
        if self.phase == _APP and idle and not self.transport.is_closing():
            # Idle until the next request (uvicorn's keep-alive timeout closes it).
            self.phase = _IDLE
            self.header_bytes = 0
            self.header_tail = b""
            self.guard.evictable[self] = None


def raise_file_limit(max_connections: int) -> int:
    """Raise this process's open-file limit toward what ``max_connections`` needs.

    Returns the number of connections the limit allows (``max_connections`` or fewer).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - SPARE_FILES))


def serve(config: GuardedConfig) -> None:
    """``uvicorn.run`` for a built config: one process, or ``workers`` over one socket.

    Exits with status 3 (uvicorn's) when a single process could not start.
    """
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config=config)
    server.run()
    if not server.started:
        sys.exit(3)
