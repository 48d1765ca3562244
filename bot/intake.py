"""Accept one routed job: record the delivery and queue the job in one atomic Redis step.

The contract: a delivery is recorded as accepted if and only if its job is on
the queue, so a broker outage answered with 503 leaves GitHub's redelivery
free to be processed normally, and a duplicate, even a concurrent one, never
queues twice. Awaiting ``accept`` never blocks the event loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.deliveries import DeliveryLedger
from bot.metrics import Metrics
from bot.queue import MessageFactory
from bot.routing import Route


@dataclass(frozen=True, slots=True)
class Accepted:
    job_id: str | None
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Intake:
    ledger: DeliveryLedger
    messages: MessageFactory
    metrics: Metrics

    async def accept(self, delivery_id: str, body_digest: str, route: Route) -> Accepted:
        """Raises ``BrokerUnavailable`` (503): then nothing was recorded or queued."""
        assert route.job is not None
        started = time.perf_counter()
        job_id, message = self.messages.build(route.task, route.queue, route.job)
        earlier = await self.ledger.accept(delivery_id, body_digest, route.queue, message, job_id)
        if earlier is not None:
            return Accepted(job_id=earlier or None, duplicate=True)
        self.metrics.enqueue_seconds.observe(time.perf_counter() - started)
        return Accepted(job_id=job_id, duplicate=False)
