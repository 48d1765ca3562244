"""Job messages built from the template are what the worker's Celery and kombu would send."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

import pytest
from celery import Celery
from hypothesis import given
from hypothesis import strategies as st

from bot.queue import MessageFactory, job_id_for, uuid_text
from codex_common.jobs import (
    COMMAND_QUEUE,
    COMMAND_TASK,
    REVIEW_QUEUE,
    REVIEW_TASK,
    CommandJob,
    ReviewJob,
)
from workers.celery_app import create_celery

REVIEW = ReviewJob(
    delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
    installation_id=41234567,
    repository="octo-org/hello-world",
    pr_number=1347,
    head_sha="6dcb09b5b57875f334f61aebed695e2e4193db5e",
    trigger="synchronize",
)
COMMAND = CommandJob(
    delivery_id="d-ü-2",
    installation_id=7,
    repository="o/r",
    pr_number=3,
    comment_id=2501234567,
    comment_kind="review_comment",
    command="fix",
    sender_login="octocat",
    sender_id=1,
    head_sha="a" * 40,
)


@pytest.fixture(scope="module")
def celery() -> Celery:
    return create_celery("redis://127.0.0.1:1/0", main="codex-web")


def celery_reference(app: Celery, task: str, queue: str, job: ReviewJob | CommandJob) -> Any:
    """The message as Celery's own factory and kombu's Redis envelope make it."""
    job_id = job_id_for(job.delivery_id, task)
    message = app.amqp.as_task_v2(
        job_id, task, args=(), kwargs={"job": job.to_dict()}, argsrepr="()", kwargsrepr=job.key
    )
    return {
        "body": list(message.body),
        "headers": message.headers,
        "properties": {
            **message.properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
        },
    }


@pytest.mark.parametrize(
    ("task", "queue", "job"),
    [(REVIEW_TASK, REVIEW_QUEUE, REVIEW), (COMMAND_TASK, COMMAND_QUEUE, COMMAND)],
)
def test_built_messages_equal_celerys_own(
    celery: Celery, task: str, queue: str, job: ReviewJob | CommandJob
) -> None:
    factory = MessageFactory.protocol2()
    before = time.time()
    job_id, raw = factory.build(task, queue, job)
    envelope = json.loads(raw)
    # Our one header beyond Celery's: when the receiver accepted the delivery.
    assert before <= envelope["headers"].pop("codex_accepted_at") <= time.time()
    body = json.loads(base64.b64decode(envelope["body"]))
    expected = json.loads(json.dumps(celery_reference(celery, task, queue, job)))
    tag = envelope["properties"].pop("delivery_tag")
    assert job_id == job_id_for(job.delivery_id, task)
    assert body == expected["body"]
    assert body[1] == {"job": job.to_dict()}
    assert envelope["headers"] == expected["headers"]
    assert envelope["properties"] == expected["properties"]
    assert (envelope["content-type"], envelope["content-encoding"]) == ("application/json", "utf-8")
    assert uuid.UUID(tag).version == 4


def test_every_message_gets_its_own_delivery_tag() -> None:
    factory = MessageFactory.protocol2()
    tags = {json.loads(factory.build(REVIEW_TASK, REVIEW_QUEUE, REVIEW)[1])["properties"]
            ["delivery_tag"] for _ in range(50)}  # fmt: skip
    assert len(tags) == 50


@given(st.text(max_size=80), st.sampled_from([REVIEW_TASK, COMMAND_TASK]))
def test_job_ids_are_the_uuid5_of_task_and_delivery(delivery: str, task: str) -> None:
    namespace = uuid.UUID("6f1d4c0e-2b8a-5c44-9a51-3d7e0c2f9b10")
    assert job_id_for(delivery, task) == str(uuid.uuid5(namespace, f"{task}:{delivery}"))


@pytest.mark.parametrize("version", [4, 5])
def test_uuid_text_sets_version_and_variant_like_uuid(version: int) -> None:
    for raw in [b"\x00" * 16, b"\xff" * 16, *(os.urandom(20) for _ in range(200))]:
        assert uuid_text(raw, version) == str(uuid.UUID(bytes=raw[:16], version=version))
