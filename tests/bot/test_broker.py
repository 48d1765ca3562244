"""The receiver's Redis connection: the wire format, pipelining, errors, against a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.broker import (
    BrokerAddress,
    BrokerClient,
    BrokerReplyError,
    BrokerUnreachable,
    _Incomplete,
    encode_command,
    parse_reply,
)
from bot.deliveries import ACCEPT_SHA, DeliveryLedger
from bot.errors import BrokerUnavailable
from workers.redis_server import RedisServer, free_port


def test_commands_are_arrays_of_bulk_strings() -> None:
    assert encode_command(("SET", b"k\r\n", 12)) == (
        b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n"
    )
    assert encode_command(("GET", "é")) == b"*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n"


def test_every_reply_type_parses_and_reports_where_it_ends() -> None:
    wire = b"+OK\r\n:-7\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n-ERR bad thing\r\n"
    offset, replies = 0, []
    while offset < len(wire):
        reply, offset = parse_reply(wire, offset)
        replies.append(reply)
    assert replies[:5] == [b"OK", -7, b"he\r\no", None, [b"a", [1]]]
    assert isinstance(replies[5], BrokerReplyError)
    assert (replies[5].code, str(replies[5])) == ("ERR", "ERR bad thing")


@pytest.mark.parametrize("cut", range(1, 20))
def test_a_reply_cut_anywhere_is_incomplete_not_wrong(cut: int) -> None:
    wire = b"*2\r\n$5\r\nhello\r\n:42\r\n"
    assert parse_reply(wire, 0) == ([b"hello", 42], len(wire))
    with pytest.raises(_Incomplete):
        parse_reply(wire[:cut], 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6390/2", BrokerAddress(port=6390, db=2)),
        ("redis://:s%40cret@broker", BrokerAddress(host="broker", password="s@cret")),
        (
            "redis://bot:pw@broker:1/0",
            BrokerAddress(host="broker", port=1, username="bot", password="pw"),
        ),
        (
            "rediss://broker?ssl_cert_reqs=none",
            BrokerAddress(host="broker", tls=True, tls_verify=False),
        ),
        ("unix:///run/redis.sock?db=3", BrokerAddress(path="/run/redis.sock", db=3)),
    ],
)
def test_broker_urls(url: str, expected: BrokerAddress) -> None:
    assert BrokerAddress.from_url(url) == expected


@pytest.mark.parametrize("url", ["amqp://broker", "redis://broker/zero"])
def test_unusable_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="broker URL"):
        BrokerAddress.from_url(url)


def test_concurrent_calls_share_one_connection_and_get_their_own_replies(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    async def scenario() -> tuple[list[Any], int]:
        client = BrokerClient.from_url(redis_server.url, timeout=5)
        try:
            replies = await asyncio.gather(
                *(client.call("SET", f"k{i}", "v" * i, "GET") for i in range(300)),
                *(client.call("GET", f"k{i}") for i in range(300)),
            )
            clients = await client.checked("CLIENT", "LIST")
        finally:
            await client.aclose()
        assert isinstance(clients, bytes)
        return replies, clients.count(b"cmd=client")

    replies, connections = asyncio.run(scenario())
    # SET ... GET answers the previous value (none); the GETs, issued after, see each value.
    assert replies[:300] == [None] * 300
    assert replies[300:] == [b"v" * i for i in range(300)]
    assert connections == 1
    assert redis_client.get("k299") == b"v" * 299


def test_error_replies_are_returned_by_call_and_raised_by_checked(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> tuple[Any, str]:
        client = BrokerClient.from_url(redis_server.url, timeout=5)
        try:
            returned = await client.call("NOSUCHCOMMAND")
            with pytest.raises(BrokerReplyError) as raised:
                await client.checked("INCR", "not-a-number-key", "extra")
            # The connection is still in step after errors.
            assert await client.checked("ECHO", "still here") == b"still here"
        finally:
            await client.aclose()
        return returned, raised.value.code

    returned, code = asyncio.run(scenario())
    assert isinstance(returned, BrokerReplyError)
    assert returned.code == "ERR"
    assert code == "ERR"


def test_the_database_in_the_url_is_selected(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    async def scenario() -> None:
        client = BrokerClient.from_url(f"redis://127.0.0.1:{redis_server.port}/5", timeout=5)
        try:
            await client.checked("SET", "in-db-5", "yes")
        finally:
            await client.aclose()

    asyncio.run(scenario())
    other = redis.Redis(port=redis_server.port, db=5)
    try:
        assert other.get("in-db-5") == b"yes"
        assert redis_client.get("in-db-5") is None
    finally:
        other.delete("in-db-5")
        other.close()


def test_a_password_is_sent_and_a_wrong_one_is_unreachable(fresh_redis: RedisServer) -> None:
    admin = redis.Redis(port=fresh_redis.port)
    admin.config_set("requirepass", "right-password")
    admin.close()

    async def scenario(password: str) -> Any:
        client = BrokerClient.from_url(
            f"redis://:{password}@127.0.0.1:{fresh_redis.port}/0", timeout=5
        )
        try:
            return await client.checked("PING")
        finally:
            await client.aclose()

    assert asyncio.run(scenario("right-password")) == b"PONG"
    with pytest.raises(BrokerUnreachable, match="refused"):
        asyncio.run(scenario("wrong-password"))


def test_nothing_listening_is_unreachable() -> None:
    async def scenario() -> None:
        client = BrokerClient.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=2)
        await client.call("PING")

    with pytest.raises(BrokerUnreachable, match="cannot connect"):
        asyncio.run(scenario())


class FakeRedis:
    """A TCP server on a free port whose connections ``handler`` serves; closed completely."""

    def __init__(
        self,
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> None:
        self.handler = handler
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            await self.handler(reader, writer)

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await self.server.wait_closed()


def test_a_silent_broker_times_out_and_the_next_call_reconnects() -> None:
    """A server that accepts and reads but never answers, then one that answers."""

    async def scenario() -> tuple[list[BaseException | Any], Any, int]:
        connections = 0
        answering = False

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            while data := await reader.read(1024):
                if answering:
                    writer.write(b"+PONG\r\n" * data.count(b"PING"))

        async with FakeRedis(serve) as url:
            client = BrokerClient.from_url(url, timeout=0.2)
            try:
                silent = await asyncio.gather(
                    client.call("PING"), client.call("PING"), return_exceptions=True
                )
                answering = True
                answered = await client.call("PING")
            finally:
                await client.aclose()
        return silent, answered, connections

    silent, answered, connections = asyncio.run(scenario())
    assert all(isinstance(error, BrokerUnreachable) for error in silent), silent
    assert "no reply" in str(silent[0])
    assert answered == b"PONG"
    # Fresh connections are not retried: the silent one, then the answering one.
    assert connections == 2


def test_a_redis_restart_between_two_calls_costs_no_call(tmp_path: Path) -> None:
    """The open connection dies with the old server: the call reconnects once, no error."""
    server = RedisServer.start(tmp_path / "redis", durable=False)
    port = server.port

    async def scenario() -> tuple[Any, Any]:
        client = BrokerClient.from_url(server.url, timeout=2)
        try:
            before = await client.call("SET", "k", "v")
            server.kill()
            restarted = RedisServer.start(tmp_path / "redis2", port=port, durable=False)
            try:
                after = await client.call("SET", "k", "w")
            finally:
                restarted.kill()
        finally:
            await client.aclose()
        return before, after

    assert asyncio.run(scenario()) == (b"OK", b"OK")


def test_replies_arriving_byte_by_byte_are_reassembled() -> None:
    async def scenario() -> list[Any]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            for byte in b"$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0)

        async with FakeRedis(serve) as url:
            client = BrokerClient.from_url(url, timeout=5)
            try:
                return list(await asyncio.gather(client.call("GET", "a"), client.call("X")))
            finally:
                await client.aclose()

    assert asyncio.run(scenario()) == [b"hello", [1, None]]


def test_the_ledger_loads_its_script_when_redis_does_not_know_it(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    redis_client.script_flush()

    async def scenario() -> list[str | None]:
        client = BrokerClient.from_url(redis_server.url, timeout=5)
        ledger = DeliveryLedger(client, ttl_seconds=60)
        try:
            return [
                await ledger.accept("d-1", "body-1", "q-test", b"message-1", "job-1"),
                await ledger.accept("d-1", "body-1", "q-test", b"message-again", "job-1"),
                await ledger.accept("d-2", "body-2", "q-test", b"message-2", "job-2"),
            ]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [None, "job-1", None]
    assert redis_client.script_exists(ACCEPT_SHA) == [True]
    assert redis_client.lrange("q-test", 0, -1) == [b"message-2", b"message-1"]
    assert redis_client.get("codex:delivery:d-1") == b"accepted:job-1"
    assert 0 < redis_client.ttl("codex:delivery:d-1") <= 60


def test_the_ledger_treats_a_body_seen_before_as_a_duplicate_whatever_its_delivery_id(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    async def scenario() -> list[str | None]:
        client = BrokerClient.from_url(redis_server.url, timeout=5)
        ledger = DeliveryLedger(client, ttl_seconds=60)
        try:
            return [
                await ledger.accept("d-1", "same-body", "q-replay", b"message-1", "job-1"),
                await ledger.accept("d-2", "same-body", "q-replay", b"message-2", "job-2"),
                await ledger.accept("d-3", "same-body", "q-replay", b"message-3", "job-3"),
            ]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [None, "job-1", "job-1"]
    assert redis_client.lrange("q-replay", 0, -1) == [b"message-1"]
    # The replays record nothing: their delivery ids stay unknown.
    assert redis_client.get("codex:delivery:d-2") is None
    assert redis_client.get("codex:body:same-body") == b"accepted:job-1"
    assert 0 < redis_client.ttl("codex:body:same-body") <= 60


def test_the_ledger_maps_broker_failures_to_503() -> None:
    async def scenario() -> None:
        client = BrokerClient.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
        await DeliveryLedger(client, ttl_seconds=60).accept("d", "b", "q", b"m", "j")

    with pytest.raises(BrokerUnavailable):
        asyncio.run(scenario())
