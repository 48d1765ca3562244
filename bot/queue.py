"""Publish jobs to the Celery broker by task name, with a bounded wait.

The receiver never imports worker code: it sends ``codex.review`` /
``codex.command`` with the job's primitive fields. Publishing does not retry:
when the broker is down the caller gets ``BrokerUnavailable`` within about
``timeout`` seconds and answers 503, instead of blocking until GitHub gives up.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import orjson
from celery import Celery
from kombu.exceptions import KombuError, OperationalError
from redis import RedisError

from bot.errors import BrokerUnavailable
from workers.jobs import CommandJob, ReviewJob

# A fixed namespace: the same delivery always gets the same job id, so a retried
# enqueue of one delivery is recognisable in the worker logs.
_JOB_NAMESPACE = uuid.UUID("6f1d4c0e-2b8a-5c44-9a51-3d7e0c2f9b10")


def job_id_for(delivery_id: str, task: str) -> str:
    return str(uuid.uuid5(_JOB_NAMESPACE, f"{task}:{delivery_id}"))


@dataclass(frozen=True, slots=True)
class Enqueuer:
    app: Celery

    def enqueue(self, task: str, queue: str, job: ReviewJob | CommandJob) -> str:
        """Publish one job; returns its id. Raises ``BrokerUnavailable``."""
        job_id = job_id_for(job.delivery_id, task)
        try:
            with self.app.producer_or_acquire() as producer:
                self.app.send_task(
                    task,
                    kwargs={"job": job.to_dict()},
                    queue=queue,
                    task_id=job_id,
                    producer=producer,
                    retry=False,
                )
        except (OperationalError, KombuError, RedisError, OSError) as exc:
            raise BrokerUnavailable("job queue unreachable") from exc
        return job_id


def build_message(
    app: Celery, task: str, queue: str, job: ReviewJob | CommandJob
) -> tuple[str, bytes]:
    """``(job_id, raw)``: the exact bytes kombu's Redis transport would ``LPUSH`` for this job.

    Built with Celery's own protocol-2 message factory, wrapped in kombu's Redis
    envelope, so the receiver can push it in the same Redis round trip that
    records the delivery (see ``DeliveryLedger.accept``). Each queue has a direct
    exchange of its own name bound with its own name as key, so the target list
    is the queue's name.
    """
    job_id = job_id_for(job.delivery_id, task)
    # Celery's default argument reprs (saferepr of the kwargs) cost more than all the
    # rest of the message; the job key says the same in one short string.
    message = app.amqp.as_task_v2(
        job_id, task, args=(), kwargs={"job": job.to_dict()}, argsrepr="()", kwargsrepr=job.key
    )
    body = orjson.dumps(message.body)
    properties = dict(message.properties)
    properties.update(
        delivery_mode=2,
        delivery_info={"exchange": "", "routing_key": queue},
        priority=0,
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": properties,
    }
    return job_id, orjson.dumps(envelope, default=str)
