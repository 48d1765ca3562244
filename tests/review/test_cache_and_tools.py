"""The segment cache and the model's read-only tools over the head commit."""

from __future__ import annotations

import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.findings import Finding
from workers.model import Usage
from workers.redis_server import RedisServer
from workers.review.cache import CachedSegment, SegmentCache, cache_key
from workers.review.toolhost import HeadToolHost

FINDING = Finding("a.py", 2, 2, "x = 1", 1, "Title", "Body", "x = 2")


def test_cache_keys_depend_on_every_part_and_not_on_where_text_sits() -> None:
    base = {"model": "m", "effort": "low", "instructions": "ab", "input_text": "cd"}
    key = cache_key(**base)
    assert key == cache_key(**base)
    for name, value in (
        ("model", "n"),
        ("effort", "high"),
        ("instructions", "ax"),
        ("input_text", "cx"),
    ):
        assert cache_key(**{**base, name: value}) != key
    # Moving a character from the instructions to the input is a different prompt.
    assert cache_key(**{**base, "instructions": "a", "input_text": "bcd"}) != key


def test_cache_round_trip_and_tolerates_garbage(redis_server: RedisServer) -> None:
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_server.url)
    cache = SegmentCache(client, prefix=f"test:{uuid.uuid4().hex}", ttl_seconds=60)
    value = CachedSegment((FINDING,), False, "gpt-5-codex-mini", Usage(10, 2, 5, 1))
    assert cache.get("k") is None
    cache.put("k", value)
    assert cache.get("k") == value
    assert 0 < client.ttl(f"{cache.prefix}:k") <= 60
    client.set(f"{cache.prefix}:bad", b"{not json")
    assert cache.get("bad") is None
    client.close()


def test_a_cache_without_redis_is_a_miss_not_a_crash() -> None:
    dead: redis.Redis[bytes] = redis.Redis(
        port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    cache = SegmentCache(dead)
    assert cache.get("k") is None
    cache.put("k", CachedSegment((), False, "m", Usage()))  # dropped with a log line


def test_read_file_numbers_lines_and_reads_each_path_once() -> None:
    reads: list[tuple[str, str]] = []

    def reader(path: str, ref: str) -> bytes | None:
        reads.append((path, ref))
        return b"one\ntwo\nthree\n" if path == "lib/util.py" else None

    host = HeadToolHost(reader, "f" * 40, {"a.py": "alpha\nbeta\n"})
    assert (
        host.read_file("lib/util.py", 2, 3)
        == "lib/util.py lines 2-3 of 3:\n     2  two\n     3  three"
    )
    host.read_file("lib/util.py", 1, 1)
    assert reads == [("lib/util.py", "f" * 40)]
    # Changed files come from the PR's head contents, without a request.
    assert "     1  alpha" in host.read_file("a.py", 1, 5)
    assert "does not exist" in host.read_file("missing.py", 1, 2)
    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b", "a\\b"):
        assert host.read_file(bad, 1, 2).startswith("error:")
    assert reads == [("lib/util.py", "f" * 40), ("missing.py", "f" * 40)]


def test_search_is_literal_and_bounded() -> None:
    text = "".join(f"call(x{i})\n" for i in range(200)) + "re.*gex\n"
    host = HeadToolHost(lambda p, r: None, "0" * 40, {"b.py": text, "a.py": "call(x1)\n"})
    found = host.search("call(x1)")
    assert found.splitlines()[0] == "a.py:1: call(x1)"
    assert "b.py:2: call(x1)" in found
    assert host.search("re.*gex") == "b.py:201: re.*gex"
    assert host.search("x.+").startswith("no match")
    assert "stopped at 50 matches" in host.search("call(")


def test_a_github_failure_reaches_the_model_as_text_not_as_a_crash() -> None:
    from workers.github.errors import ServerError

    calls: list[str] = []

    def flaky(path: str, ref: str) -> bytes | None:
        calls.append(path)
        if len(calls) == 1:
            raise ServerError("boom", status=502)
        return b"ok\n"

    host = HeadToolHost(flaky, "0" * 40, {})
    assert host.read_file("x.py", 1, 1) == "error: x.py could not be read now (ServerError)"
    assert host.read_file("x.py", 1, 1) == "x.py lines 1-1 of 1:\n     1  ok"
