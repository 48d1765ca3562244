"""Celery task messages for jobs, built without a round trip through kombu.

The receiver never imports worker code: it sends ``codex.review`` /
``codex.command`` by name with the job's primitive fields. It does not publish
through kombu either: the ledger pushes the exact bytes kombu's Redis transport
would ``LPUSH`` in the same atomic script that records the delivery (see
``bot.ledger``), so a delivery is recorded if and only if its job is queued.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import orjson
from celery import Celery

from workers.jobs import CommandJob, ReviewJob

# A fixed namespace: the same delivery always gets the same job id, so a retried
# enqueue of one delivery is recognisable in the worker logs.
_JOB_NAMESPACE = uuid.UUID("6f1d4c0e-2b8a-5c44-9a51-3d7e0c2f9b10")

# What changes from one job message to the next; everything else comes from Celery once.
_PER_JOB_HEADERS = frozenset({"task", "id", "root_id", "argsrepr", "kwargsrepr"})
_PER_JOB_PROPERTIES = frozenset({"correlation_id", "delivery_info", "delivery_tag"})


_NAMESPACE_BYTES = _JOB_NAMESPACE.bytes
_VERSION_AND_VARIANT = ~((0xF000 << 64) | (0xC000 << 48))


def uuid_text(raw: bytes, version: int) -> str:
    """``str(uuid.UUID(bytes=raw[:16], version=version))`` without building the object."""
    value = int.from_bytes(raw[:16], "big") & _VERSION_AND_VARIANT
    value |= (version << 76) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def job_id_for(delivery_id: str, task: str) -> str:
    """``uuid5(namespace, "task:delivery")`` as text: stable across retries of one delivery."""
    name = f"{task}:{delivery_id}".encode()
    return uuid_text(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest(), 5)


@dataclass(frozen=True, slots=True)
class MessageFactory:
    """Builds the raw Redis-transport message of a job from a template made by Celery.

    ``from_celery`` asks Celery's own protocol-2 factory (``amqp.as_task_v2``) for
    one message and keeps its constant parts (origin, retries, time limits,
    stamps, embedded callbacks, ...); ``build`` fills in the per-job fields.
    Each queue has a direct exchange of its own name bound with its own name as
    key, so the target list is the queue's name.
    """

    headers: Mapping[str, Any]
    properties: Mapping[str, Any]
    embed: Mapping[str, Any]

    @classmethod
    def from_celery(cls, app: Celery) -> Self:
        probe = job_id_for("probe", "probe")
        message = app.amqp.as_task_v2(
            probe, "probe", args=(), kwargs={}, argsrepr="()", kwargsrepr="{}"
        )
        headers = {k: v for k, v in message.headers.items() if k not in _PER_JOB_HEADERS}
        properties = {k: v for k, v in message.properties.items() if k not in _PER_JOB_PROPERTIES}
        properties.update(delivery_mode=2, priority=0, body_encoding="base64")
        # Anything else that names the task or its id would go stale in the template.
        constant = orjson.dumps([headers, properties], default=str)
        if probe.encode() in constant or b'"probe"' in constant:
            raise RuntimeError("Celery's task message has per-task fields this factory ignores")
        _args, _kwargs, embed = message.body
        return cls(headers=headers, properties=properties, embed=dict(embed))

    def build(self, task: str, queue: str, job: ReviewJob | CommandJob) -> tuple[str, bytes]:
        """``(job_id, raw)``: the bytes to push on the list named ``queue``."""
        job_id = job_id_for(job.delivery_id, task)
        # Celery's default argument reprs (saferepr of the kwargs) cost more than all the
        # rest of the message; the job key says the same in one short string.
        headers = {
            **self.headers,
            "task": task,
            "id": job_id,
            "root_id": job_id,
            "argsrepr": "()",
            "kwargsrepr": job.key,
        }
        properties = {
            "correlation_id": job_id,
            **self.properties,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "delivery_tag": uuid_text(os.urandom(16), 4),
        }
        # orjson writes a dataclass's fields as ``to_dict`` would (flat primitives, in
        # order), without the deep copy ``dataclasses.asdict`` makes.
        body = orjson.dumps(((), {"job": job}, self.embed))
        envelope = {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": properties,
        }
        return job_id, orjson.dumps(envelope, default=str)
