"""The workers' Prometheus metrics: every definition lives here.

A Celery worker is several processes (the parent and its pool's children), so
the counters use ``prometheus_client``'s multiprocess mode: each process writes
its values to files under ``PROMETHEUS_MULTIPROC_DIR``, which ``codex-bot
worker`` sets (to a fresh directory of its own unless the operator set one)
before anything imports ``prometheus_client``. The parent serves them all on
``WORKER_METRICS_PORT`` (``serve_metrics``, called when the worker is ready),
summed by the library's ``MultiProcessCollector``; a child that exits is
marked dead (``mark_dead``, on Celery's ``worker_process_shutdown``). Without
the directory (tests, ``codex-bot review``) the same calls count in-process.

Counted where it happens, one line at each site:

* ``codex_reviews_total{outcome}``: ``workers.review.task`` (the flow's
  status) and ``workers.tasks`` (``failed`` when a review job gives up);
* ``codex_review_latency_seconds``: ``workers.tasks``, from the receiver's
  acceptance of the delivery (the ``codex_accepted_at`` message header) to the
  end of the job;
* ``codex_model_calls_total{model,repository,outcome}``,
  ``codex_model_tokens_total{model,repository,kind}``,
  ``codex_model_cost_dollars_total{model,repository}``: the spend ledger
  (``workers.model.ledger``) for answered calls, the model client for failed
  attempts;
* ``codex_rate_limit_wait_seconds_total{service}``: the model client's waits
  before a retry and the GitHub write pacer's waits;
* ``codex_github_requests_total{endpoint,status}``: ``workers.github.client.call``,
  the one function every GitHub request goes through.

Read from Redis at scrape time by the parent (``BrokerCollector``):
``codex_queue_depth{queue}``, ``codex_queue_oldest_age_seconds{queue}`` and
``codex_model_keys_parked``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Final
from urllib.parse import urlsplit

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
ACCEPTED_HEADER: Final = "codex_accepted_at"

REVIEWS = Counter(
    "codex_reviews_total",
    "Review jobs by how they ended: posted, quiet, skipped, duplicate, ..., failed (gave up)",
    ["outcome"],
)
REVIEW_LATENCY = Histogram(
    "codex_review_latency_seconds",
    "Seconds from the receiver accepting a delivery to the end of its review job",
    buckets=(1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)
MODEL_CALLS = Counter(
    "codex_model_calls_total",
    "Model API calls by model, repository and outcome (ok: answered and billed; error: an "
    "attempt that failed)",
    ["model", "repository", "outcome"],
)
MODEL_TOKENS = Counter(
    "codex_model_tokens_total",
    "Model tokens billed, by kind: input, cached (part of input), output, reasoning (part "
    "of output)",
    ["model", "repository", "kind"],
)
MODEL_COST = Counter(
    "codex_model_cost_dollars_total",
    "Model spend in US dollars, priced as the ledger bills it",
    ["model", "repository"],
)
RATE_LIMIT_WAIT = Counter(
    "codex_rate_limit_wait_seconds_total",
    "Seconds spent waiting before a retry or for a write slot, by service",
    ["service"],
)
GITHUB_REQUESTS = Counter(
    "codex_github_requests_total",
    "GitHub API requests by endpoint template and status (2xx, the error status, or no_answer)",
    ["endpoint", "status"],
)

_TOKEN_KINDS: Final = (
    ("input", "input_tokens"),
    ("cached", "cached_tokens"),
    ("output", "output_tokens"),
    ("reasoning", "reasoning_tokens"),
)

_SHA = re.compile(r"^[0-9a-f]{40}$")
_NUMBER = re.compile(r"^\d+$")
# Segments after these are one placeholder whatever their depth (paths and ref names).
_TAILS: Final = {"contents": "{path}", "refs": "{ref}", "ref": "{ref}", "trees": "{tree}"}


def endpoint(method: str, url: str) -> str:
    """A label with few values, whatever the repository, number, SHA or path:
    ``GET /repos/acme/calc/pulls/12/files?page=2`` -> ``GET /repos/{owner}/{repo}/pulls/{n}/files``.
    """
    path = urlsplit(url).path
    if "/api/v3/" in path:  # GitHub Enterprise Server's prefix
        path = path.split("/api/v3", 1)[1]
    parts = [p for p in path.split("/") if p]
    out: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if part == "repos" and not out and len(parts) >= 3:
            out += ["repos", "{owner}", "{repo}"]
            index += 3
            continue
        if part in _TAILS and index + 1 < len(parts):
            out += [part, _TAILS[part]]
            break
        if _NUMBER.match(part):
            out.append("{n}")
        elif _SHA.match(part):
            out.append("{sha}")
        else:
            out.append(part)
        index += 1
    return f"{method.upper()} /{'/'.join(out)}"


def github_request(method: str, url: str, status: int | str) -> None:
    """Count one GitHub request: ``status`` is the HTTP status, or ``"no_answer"``."""
    label = "2xx" if isinstance(status, int) and 200 <= status < 300 else str(status)
    GITHUB_REQUESTS.labels(endpoint(method, url), label).inc()


def model_call(model: str, repository: str, usage: dict[str, int], cost_dollars: float) -> None:
    """Count one answered, billed model call (``usage`` as ``Usage.to_dict()``)."""
    MODEL_CALLS.labels(model, repository, "ok").inc()
    for kind, field in _TOKEN_KINDS:
        amount = usage.get(field, 0)
        if amount:
            MODEL_TOKENS.labels(model, repository, kind).inc(amount)
    MODEL_COST.labels(model, repository).inc(cost_dollars)


def model_call_failed(model: str, repository: str) -> None:
    MODEL_CALLS.labels(model, repository, "error").inc()


def waited(service: str, seconds: float) -> None:
    if seconds > 0:
        RATE_LIMIT_WAIT.labels(service).inc(seconds)


def review_ended(outcome: str) -> None:
    REVIEWS.labels(outcome).inc()


def review_latency(accepted_at: object, now: float | None = None) -> None:
    """Observe the time since ``accepted_at`` (unix time from the message header, if any)."""
    if isinstance(accepted_at, int | float) and accepted_at > 0:
        REVIEW_LATENCY.observe(max(0.0, (time.time() if now is None else now) - accepted_at))


# -- the parent's side: what is read at scrape time, and the HTTP server -----------------------


class BrokerCollector(Collector):
    """Queue depth and the age of each queue's oldest message, and the parked model keys,
    read from Redis when Prometheus scrapes. A Redis that does not answer gives no sample
    (the scrape itself still succeeds, with the counters)."""

    def __init__(
        self,
        client: redis.Redis[bytes],
        queues: Sequence[str],
        parked_keys: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._queues = tuple(queues)
        self._parked = parked_keys
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "codex_queue_depth", "Jobs waiting in each broker queue", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "codex_queue_oldest_age_seconds",
            "Seconds the oldest waiting job has been queued (0 when the queue is empty)",
            labels=["queue"],
        )
        parked = GaugeMetricFamily(
            "codex_model_keys_parked", "Model API keys parked for lack of quota"
        )
        try:
            for queue in self._queues:
                pipe = self._redis.pipeline(transaction=False)
                pipe.llen(queue)
                pipe.lindex(queue, -1)  # LPUSH in, BRPOP out: the oldest is at the tail
                length, oldest = pipe.execute()
                depth.add_metric([queue], float(length))
                age.add_metric([queue], self._age(oldest))
            if self._parked is not None:
                parked.add_metric([], float(self._parked()))
        except redis.RedisError:
            return
        yield depth
        yield age
        if self._parked is not None:
            yield parked

    def _age(self, raw: bytes | None) -> float:
        if raw is None:
            return 0.0
        try:
            accepted = json.loads(raw)["headers"].get(ACCEPTED_HEADER)
        except (ValueError, KeyError, TypeError, AttributeError):
            return 0.0
        if not isinstance(accepted, int | float):
            return 0.0
        return max(0.0, self._clock() - accepted)


def registry(extra: Sequence[Collector] = ()) -> CollectorRegistry:
    """What the parent serves: every process's counters (multiprocess mode) plus ``extra``."""
    reg = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
    for collector in extra:
        reg.register(collector)
    return reg


def serve_metrics(host: str, port: int, reg: CollectorRegistry) -> None:
    """Serve ``reg`` on ``host:port`` from a daemon thread of this process."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=reg)


def mark_dead(pid: int) -> None:
    """A pool process exited: drop its live gauges' files (counters stay summed)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def connect_worker_signals(
    host: str,
    port: int,
    redis_url: str,
    queues: Sequence[str],
    parked_keys: Callable[[], int] | None,
) -> None:
    """Serve the metrics from the worker's parent once its pool is up, and mark each pool
    process dead when it exits (Celery signals)."""
    from celery import signals

    def ready(**_: object) -> None:
        client: redis.Redis[bytes] = redis.Redis.from_url(
            redis_url, socket_timeout=3, socket_connect_timeout=3
        )
        serve_metrics(host, port, registry([BrokerCollector(client, queues, parked_keys)]))

    def process_exit(pid: int | None = None, **_: object) -> None:
        mark_dead(pid or os.getpid())

    if port:
        signals.worker_ready.connect(ready, weak=False)
    signals.worker_process_shutdown.connect(process_exit, weak=False)
