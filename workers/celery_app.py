"""The Celery application, built from settings by ``create_celery``; never at import.

Both processes build one: the receiver only to publish by task name, the
worker to consume. The options encode the delivery contract:

* JSON only, never pickle: a message is data, not code;
* ``acks_late`` + ``task_reject_on_worker_lost``: a job is acknowledged after it
  ran, and a job whose process died comes back;
* prefetch 1: a long review does not hold other jobs hostage;
* ``visibility_timeout`` longer than the hard time limit (plus the job lease),
  in broker *and* result transport options: an unacknowledged job of a killed
  worker is handed out again after that many seconds, not after Redis's default
  hour;
* one queue for reviews, one for commands, so a flood of pushes cannot starve
  a maintainer's ``/codex fix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from codex_common.jobs import (
    COMMAND_QUEUE,
    COMMAND_TASK,
    REDELIVERY_TASK,
    REVIEW_QUEUE,
    REVIEW_TASK,
)


class CeleryConfigError(ValueError):
    """The time limits contradict each other."""


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """Seconds. ``lease`` is how long a running job holds its key (see ``workers.guard``)."""

    soft_time_limit: int = 600
    time_limit: int = 660
    visibility_timeout: int = 900

    @property
    def restore_interval(self) -> int:
        """Seconds between sweeps that put a dead worker's unacknowledged jobs back."""
        return max(1, min(10, self.visibility_timeout // 10))

    @property
    def lease(self) -> int:
        return self.time_limit + max(1, self.time_limit // 10)

    def check(self) -> None:
        if not 0 < self.soft_time_limit < self.time_limit:
            raise CeleryConfigError("soft time limit must be below the hard time limit")
        if self.visibility_timeout <= self.lease:
            raise CeleryConfigError(
                f"visibility timeout ({self.visibility_timeout}s) must exceed the job lease "
                f"({self.lease}s), or a running job would be handed out twice"
            )


def _queue(name: str) -> Queue:
    # Each queue gets its own direct exchange and routing key; left to the defaults,
    # both would bind to the default queue's exchange and key and receive each other's jobs.
    exchange = Exchange(name, type="direct")  # type: ignore[no-untyped-call]
    queue: Queue = Queue(name, exchange, routing_key=name)  # type: ignore[no-untyped-call]
    return queue


def broker_options(limits: TaskLimits, *, timeout: float = 5.0) -> dict[str, Any]:
    return {
        "visibility_timeout": limits.visibility_timeout,
        # kombu sweeps for expired unacknowledged jobs only every interval x throttle
        # seconds (100 s by default); sweep every interval so the wait after a crash is
        # about the visibility timeout, not that plus minutes.
        "unacked_restore_interval": limits.restore_interval,
        "unacked_restore_throttle": 1,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "socket_keepalive": True,
        "health_check_interval": 30,
    }


def create_celery(
    broker_url: str,
    limits: TaskLimits | None = None,
    *,
    publish_timeout: float = 5.0,
    main: str = "codex",
) -> Celery:
    """A configured app. ``publish_timeout`` bounds each broker call made by a publisher."""
    limits = limits or TaskLimits()
    limits.check()
    transport = broker_options(limits, timeout=publish_timeout)
    app = Celery(main, broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=limits.soft_time_limit,
        task_time_limit=limits.time_limit,
        broker_transport_options=transport,
        result_backend_transport_options=dict(transport),
        broker_connection_retry_on_startup=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_pool_limit=16,
        task_default_queue=REVIEW_QUEUE,
        task_queues=(_queue(REVIEW_QUEUE), _queue(COMMAND_QUEUE)),
        task_routes={
            REVIEW_TASK: {"queue": REVIEW_QUEUE},
            COMMAND_TASK: {"queue": COMMAND_QUEUE},
            # Short and rare: it shares the commands' queue, never waits behind reviews.
            REDELIVERY_TASK: {"queue": COMMAND_QUEUE},
        },
        task_create_missing_queues=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    return app


def effective_visibility_timeout(app: Celery) -> int:
    """The value the Redis transport will really use, read back from the app."""
    options: dict[str, Any] = app.conf.broker_transport_options or {}
    value = options.get("visibility_timeout", 3600)
    return int(value)
