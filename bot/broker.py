"""The receiver's connection to the broker's Redis: pipelined RESP over one asyncio connection.

The webhook hot path makes exactly one Redis call per delivery (the ledger's
script, see ``bot.deliveries``), so the receiver speaks the Redis protocol itself
instead of going through a general-purpose client: commands issued in the same
event-loop turn leave in one write, replies are matched to callers in order,
and nothing blocks the loop or hops to a thread.

Contract:

* ``BrokerClient.from_url`` accepts ``redis://``, ``rediss://`` and
  ``unix://`` URLs with optional user, password and database (path or
  ``?db=``), and ``ssl_cert_reqs`` / ``ssl_ca_certs`` for TLS;
* connecting, and then waiting for a reply, are each bounded by ``timeout``
  seconds; when the oldest unanswered command runs out of time the connection
  is closed (its state is unknown) and every caller waiting on it reconnects
  once and sends again (so a Redis restart costs no delivery); a call that
  fails on a fresh connection gets ``BrokerUnreachable``;
* a connection belongs to the event loop that opened it; a call from another
  loop opens a new one.

Errors::

    BrokerError
    ├── BrokerUnreachable   cannot connect, connection lost, or no reply in time
    └── BrokerReplyError    Redis answered with an error reply (``-ERR ...``)
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Self, TypeAlias, cast
from urllib.parse import parse_qsl, unquote, urlsplit

_NO_VERIFY = frozenset({"none", "cert_none"})
Reply: TypeAlias = "bytes | int | list[Reply] | BrokerReplyError | None"
Arg: TypeAlias = bytes | str | int


class BrokerError(Exception):
    """Base of the broker connection's errors."""


class BrokerUnreachable(BrokerError):
    pass


class BrokerReplyError(BrokerError):
    """An error reply; ``code`` is its first word (``NOSCRIPT``, ``ERR``, ``OOM``, ...)."""

    @property
    def code(self) -> str:
        return str(self).split(" ", 1)[0]


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker's Redis listens. ``path`` set means a Unix socket."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    # ``rediss://...?ssl_cert_reqs=none`` (as kombu and redis-py read it) skips verification.
    tls_verify: bool = True
    tls_ca_certs: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.tls_ca_certs)
        if not self.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Parse a Redis URL; raises ``ValueError`` on a scheme or database it cannot use."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"unsupported broker URL scheme {scheme!r}")
        query = dict(parse_qsl(parts.query))
        # A Unix socket's path is the socket; elsewhere the path names the database.
        db_text = query.get("db") or (parts.path.lstrip("/") if scheme != "unix" else "")
        try:
            db = int(db_text) if db_text else 0
        except ValueError:
            raise ValueError(f"broker URL database must be a number, got {db_text!r}") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if scheme == "unix":
            return cls(path=parts.path, db=db, username=username, password=password)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=db,
            username=username,
            password=password,
            tls=scheme == "rediss",
            tls_verify=query.get("ssl_cert_reqs", "required").lower() not in _NO_VERIFY,
            tls_ca_certs=query.get("ssl_ca_certs") or None,
        )


def encode_command(args: tuple[Arg, ...]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = b"%d" % arg
        out.append(b"$%d\r\n" % len(data))
        out.append(data)
        out.append(b"\r\n")
    return b"".join(out)


class _Incomplete(Exception):
    """The buffer ends inside a reply; wait for more bytes."""


def parse_reply(buffer: bytes | bytearray, start: int) -> tuple[Reply, int]:
    """The RESP2 reply at ``start`` and the offset after it; raises ``_Incomplete``."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        raise _Incomplete
    kind = buffer[start]
    line = bytes(buffer[start + 1 : end])
    after = end + 2
    if kind == 0x24:  # $ bulk string
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            raise _Incomplete
        return bytes(buffer[after : after + size]), after + size + 2
    if kind == 0x2B:  # + simple string
        return line, after
    if kind == 0x3A:  # : integer
        return int(line), after
    if kind == 0x2D:  # - error
        return BrokerReplyError(line.decode("utf-8", "replace")), after
    if kind == 0x2A:  # * array
        count = int(line)
        if count < 0:
            return None, after
        items: list[Reply] = []
        for _ in range(count):
            item, after = parse_reply(buffer, after)
            items.append(item)
        return items, after
    raise BrokerUnreachable(f"unexpected reply type byte {kind!r}")


class _Connection(asyncio.Protocol):
    """One pipelined connection: writes are coalesced per loop turn, replies answered FIFO.

    One timer watches the oldest unanswered command; when it is ``timeout`` old the
    connection is aborted and every waiting caller gets ``BrokerUnreachable``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._pending: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []
        self._watchdog: asyncio.TimerHandle | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        offset = 0
        try:
            while self._pending:
                reply, offset = parse_reply(buffer, offset)
                waiter, _ = self._pending.popleft()
                if not waiter.done():  # its caller may have been cancelled
                    waiter.set_result(reply)
        except _Incomplete:
            pass
        except (BrokerUnreachable, ValueError) as exc:
            self.abort(BrokerUnreachable(f"unreadable reply from the broker: {exc}"))
            return
        del buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(BrokerUnreachable(f"connection to the broker lost: {exc or 'closed'}"))

    def _fail(self, error: BrokerError) -> None:
        self.lost = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._pending:
            waiter, _ = self._pending.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        waiter: asyncio.Future[Reply] = self.loop.create_future()
        if self.lost or self._transport is None:
            waiter.set_exception(BrokerUnreachable("connection to the broker lost"))
            return waiter
        deadline = self.loop.time() + self.timeout
        self._pending.append((waiter, deadline))
        if self._watchdog is None:
            self._watchdog = self.loop.call_at(deadline, self._check)
        if not self._outgoing:
            self.loop.call_soon(self._flush)
        self._outgoing.append(command)
        return waiter

    def _check(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        deadline = self._pending[0][1]
        if self.loop.time() >= deadline:
            self.abort(BrokerUnreachable(f"no reply from the broker within {self.timeout}s"))
        else:
            self._watchdog = self.loop.call_at(deadline, self._check)

    def _flush(self) -> None:
        data, self._outgoing = self._outgoing, []
        if self._transport is not None and not self.lost:
            self._transport.write(b"".join(data))

    def abort(self, error: BrokerError) -> None:
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()


class BrokerClient:
    """Calls to one Redis over one lazily opened, pipelined connection."""

    def __init__(self, address: BrokerAddress, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    @classmethod
    def from_url(cls, url: str, timeout: float) -> Self:
        return cls(BrokerAddress.from_url(url), timeout)

    async def call(self, *args: Arg) -> Reply:
        """Send one command and return its reply; an error reply is returned, not raised.

        A connection that was open before this call and fails it (Redis restarted, an
        idle connection dropped by the network) is replaced once and the command sent
        again; a fresh connection that fails raises ``BrokerUnreachable``. Sending
        again is safe for the ledger's script: a first copy that did run makes the
        second answer "already recorded".
        """
        command = encode_command(args)
        connection = self._usable()
        if connection is None:
            return await (await self._connect()).send(command)
        try:
            return await connection.send(command)
        except BrokerUnreachable:
            retry = self._usable()  # another caller may have reconnected meanwhile
            if retry is None or retry is connection:
                retry = await self._connect()
            return await retry.send(command)

    def _usable(self) -> _Connection | None:
        connection = self._connection
        if connection is None or connection.lost or connection.loop is not _running_loop():
            return None
        return connection

    async def checked(self, *args: Arg) -> Reply:
        """``call``, raising ``BrokerReplyError`` for an error reply."""
        reply = await self.call(*args)
        if isinstance(reply, BrokerReplyError):
            raise reply
        return reply

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.loop is _running_loop():
            connection.abort(BrokerUnreachable("client closed"))

    async def _connect(self) -> _Connection:
        # Callers arriving while a connection is being opened share that attempt.
        loop = _running_loop()
        pending = self._connecting
        if pending is not None and pending.get_loop() is loop:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Connection] = loop.create_future()
        self._connecting = future
        try:
            connection = await self._open(loop)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, BrokerError) else BrokerUnreachable())
            future.exception()  # retrieved: waiters that gave up must not leave it unobserved
            raise
        finally:
            self._connecting = None
        self._connection = connection
        future.set_result(connection)
        return connection

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        address = self.address
        context = address.ssl_context()
        try:
            async with asyncio.timeout(self.timeout):
                if address.path is not None:
                    _, connection = await loop.create_unix_connection(
                        lambda: _Connection(loop, self.timeout), address.path
                    )
                else:
                    _, connection = await loop.create_connection(
                        lambda: _Connection(loop, self.timeout),
                        address.host,
                        address.port,
                        ssl=context,
                    )
                handshake: list[asyncio.Future[Reply]] = []
                if address.password is not None:
                    credentials: tuple[Arg, ...] = (
                        (address.username, address.password)
                        if address.username
                        else (address.password,)
                    )
                    handshake.append(connection.send(encode_command(("AUTH", *credentials))))
                if address.db:
                    handshake.append(connection.send(encode_command(("SELECT", address.db))))
                for waiter in handshake:
                    reply = await waiter
                    if isinstance(reply, BrokerReplyError):
                        connection.abort(BrokerUnreachable("handshake refused"))
                        raise BrokerUnreachable(f"the broker refused the connection: {reply}")
        except TimeoutError:
            raise BrokerUnreachable(f"no connection to the broker within {self.timeout}s") from None
        except OSError as exc:
            raise BrokerUnreachable(f"cannot connect to the broker: {exc}") from exc
        return connection


def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()
