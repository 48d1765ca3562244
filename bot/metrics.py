"""Prometheus metrics of one receiver, in a registry of its own (one per app instance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _QueueDepth(Collector):
    """Reads queue lengths at scrape time; a broker that is down simply reports nothing."""

    def __init__(self, depth: Callable[[str], int | None], queues: Sequence[str]) -> None:
        self._depth = depth
        self._queues = tuple(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "codex_queue_depth", "Jobs waiting in each broker queue", labels=["queue"]
        )
        for queue in self._queues:
            value = self._depth(queue)
            if value is not None:
                family.add_metric([queue], value)
        yield family


class Metrics:
    def __init__(self, depth: Callable[[str], int | None], queues: Sequence[str]) -> None:
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
        self.registry.register(_QueueDepth(depth, queues))
