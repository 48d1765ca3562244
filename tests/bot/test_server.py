"""The connection guard on uvicorn's protocol, driven byte by byte over a fake transport."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.server import ServerState

from bot.limits import ReceiverLimits
from bot.server import GuardedConfig, GuardedHttpProtocol


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 3000), "peername": ("127.0.0.1", 5555)}.get(name, default)


async def ok_app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def connection(state: ServerState, **limits: Any) -> tuple[GuardedHttpProtocol, FakeTransport]:
    config = GuardedConfig(ok_app, limits=ReceiverLimits(**limits), log_config=None)
    config.load()
    protocol = GuardedHttpProtocol(config, state, {})
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


def test_headers_over_the_cap_get_431_before_the_parser_sees_them() -> None:
    async def scenario() -> FakeTransport:
        protocol, transport = connection(ServerState(), max_header_bytes=4096)
        protocol.data_received(b"GET / HTTP/1.1\r\nX: " + b"a" * 3000)
        assert transport.written == b""
        protocol.data_received(b"a" * 3000)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in transport.written


def test_headers_whose_blank_line_is_split_across_reads_are_not_too_large() -> None:
    async def scenario() -> FakeTransport:
        protocol, transport = connection(ServerState(), max_header_bytes=4096)
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\nX: " + b"a" * 3900
        protocol.data_received(head + b"\r\n\r")
        protocol.data_received(b"\n" + b"b" * 20000)  # far beyond the room left: body bytes
        await asyncio.sleep(0.01)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.startswith(b"HTTP/1.1 200 ")


def test_each_request_on_a_kept_alive_connection_gets_the_whole_header_allowance() -> None:
    async def scenario() -> FakeTransport:
        protocol, transport = connection(ServerState(), max_header_bytes=4096)
        for _ in range(5):
            protocol.data_received(b"GET / HTTP/1.1\r\nX: " + b"a" * 3000 + b"\r\n\r\n")
            await asyncio.sleep(0.01)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.count(b"HTTP/1.1 200 ") == 5
    assert not transport.closed


def test_at_the_cap_the_oldest_connection_still_in_its_headers_is_closed() -> None:
    async def scenario() -> list[FakeTransport]:
        state = ServerState()
        limits = {"max_connections": 3}
        first, first_t = connection(state, **limits)
        busy, busy_t = connection(state, **limits)
        busy.data_received(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")  # mid-body
        third, third_t = connection(state, **limits)
        _, fourth_t = connection(state, **limits)  # evicts `first`
        assert first_t.aborted
        first.connection_lost(None)
        _, fifth_t = connection(state, **limits)  # evicts `third`
        third.connection_lost(None)
        return [first_t, busy_t, third_t, fourth_t, fifth_t]

    transports = asyncio.run(scenario())
    assert [t.aborted for t in transports] == [True, False, True, False, False]


def test_a_full_house_of_bodies_in_flight_refuses_the_newcomer() -> None:
    async def scenario() -> FakeTransport:
        state = ServerState()
        limits = {"max_connections": 2}
        for _ in range(2):
            protocol, _ = connection(state, **limits)
            protocol.data_received(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        _, newcomer = connection(state, **limits)
        return newcomer

    assert asyncio.run(scenario()).aborted


def test_headers_not_finished_in_time_close_the_connection() -> None:
    async def scenario() -> tuple[FakeTransport, FakeTransport]:
        state = ServerState()
        slow, slow_t = connection(state, header_timeout_seconds=0.05)
        slow.data_received(b"GET / HTTP/1.1\r\nHost")
        done, done_t = connection(state, header_timeout_seconds=0.05)
        done.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.2)
        return slow_t, done_t

    slow_t, done_t = asyncio.run(scenario())
    assert slow_t.closed
    assert slow_t.written == b""
    assert done_t.written.startswith(b"HTTP/1.1 200 ")
    assert not done_t.closed
