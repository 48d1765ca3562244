"""Prometheus metrics of one receiver, in a registry of its own (one per app instance).

Queue depths are read from the broker by the scrape handler just before
rendering (``render(depths)``); a broker that is down simply reports no depth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
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
