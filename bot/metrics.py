"""Prometheus metrics of one receiver, in a registry of its own (one per app instance).

Queue depths are read from the broker by the scrape handler just before
rendering (``render(depths)``); a broker that is down simply reports no depth.

The metrics are served by a listener of their own (``start_listener``:
``GET /metrics`` on ``METRICS_HOST:METRICS_PORT``, loopback by default), never
on the public webhook port. It reads one request head of at most 8 KB within
5 s, answers, and closes the connection; with several web processes each binds
the same port (``SO_REUSEPORT``) and reports its own counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _QueueDepth(Collector):
    def __init__(self) -> None:
        self.depths: Mapping[str, int] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "codex_queue_depth", "Jobs waiting in each broker queue", labels=["queue"]
        )
        for queue, value in self.depths.items():
            family.add_metric([queue], value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "codex_webhook_deliveries",
            "Webhook deliveries by event and outcome",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.enqueue_seconds = Histogram(
            "codex_enqueue_seconds",
            "Time to record and publish one accepted delivery",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self._depth = _QueueDepth()
        self.registry.register(self._depth)

    def render(self, depths: Mapping[str, int]) -> bytes:
        """The text exposition, with ``depths`` as the queue-depth gauge."""
        self._depth.depths = dict(depths)
        return generate_latest(self.registry)


_HEAD_LIMIT = 8 * 1024
_HEAD_TIMEOUT = 5.0


def _response(status: bytes, content_type: str, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type.encode()
        + b"\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body
    )  # fmt: skip


def metrics_response(head: bytes, rendered: bytes | None) -> bytes:
    """The answer to one request head: the metrics for ``GET /metrics``, else 404 or 405."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    path = parts[1].split(b"?", 1)[0] if len(parts) >= 2 else b""
    if path != b"/metrics":
        return _response(b"404 Not Found", "text/plain", b"not found\n")
    if parts[0] not in (b"GET", b"HEAD") or rendered is None:
        return _response(b"405 Method Not Allowed", "text/plain", b"GET /metrics\n")
    return _response(b"200 OK", CONTENT_TYPE_LATEST, rendered if parts[0] == b"GET" else b"")


async def start_listener(
    host: str, port: int, scrape: Callable[[], Awaitable[bytes]]
) -> asyncio.Server:
    """Serve ``GET /metrics`` on ``host:port``; raises ``OSError`` when it cannot bind."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT)
            wanted = head.startswith((b"GET ", b"HEAD "))
            writer.write(metrics_response(head, await scrape() if wanted else None))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=_HEAD_LIMIT, reuse_port=True)
