"""Celery task messages for jobs, built without Celery or kombu.

The receiver never imports worker code: it sends ``codex.review`` /
``codex.command`` by name with the job's primitive fields. It does not publish
through kombu either: ``bot.deliveries`` pushes the exact bytes kombu's Redis
transport would ``LPUSH`` in the same atomic script that records the delivery,
so a delivery is recorded if and only if its job is queued. The message is
Celery's task protocol 2 as ``amqp.as_task_v2`` writes it with no options
(tests/bot/test_queue.py compares the two field by field against the worker's
own Celery app).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import orjson

from codex_common.jobs import CommandJob, ReviewJob

# A fixed namespace: the same delivery always gets the same job id, so a retried
# enqueue of one delivery is recognisable in the worker logs.
_JOB_NAMESPACE = uuid.UUID("6f1d4c0e-2b8a-5c44-9a51-3d7e0c2f9b10")


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
    """Builds the raw Redis-transport message of a job from a constant template.

    ``protocol2`` holds what a protocol-2 message carries when no option is given
    (no countdown, expiry, time limits or callbacks; the worker applies its own
    limits); ``build`` fills in the per-job fields. Each queue has a direct
    exchange of its own name bound with its own name as key, so the target list
    is the queue's name.
    """

    headers: Mapping[str, Any]
    properties: Mapping[str, Any]
    embed: Mapping[str, Any]

    @classmethod
    def protocol2(cls) -> Self:
        """The template for this process; ``origin`` names it as Celery does: ``gen<pid>@host``."""
        headers: dict[str, Any] = {
            "lang": "py",
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "parent_id": None,
            "origin": f"gen{os.getpid()}@{socket.gethostname()}",
            "ignore_result": False,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        }
        properties = {"reply_to": "", "delivery_mode": 2, "priority": 0, "body_encoding": "base64"}
        embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
        return cls(headers=headers, properties=properties, embed=embed)

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
            # When the receiver accepted the delivery: the workers' queue age and
            # delivery-to-review latency metrics read it (a Celery header reaches
            # ``task.request``).
            "codex_accepted_at": time.time(),
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
