"""The task wrappers' own decisions: sending a review job by name."""

from __future__ import annotations

import base64
import json

import redis

from codex_common.jobs import REVIEW_QUEUE, REVIEW_TASK, ReviewJob
from workers.celery_app import create_celery
from workers.redis_server import RedisServer, free_port
from workers.tasks import review_sender

JOB = ReviewJob(
    delivery_id="d-1",
    installation_id=1,
    repository="o/r",
    pr_number=2,
    head_sha="a" * 40,
    trigger="command",
    reply_comment_id=3,
    reply_comment_kind="issue_comment",
)


def test_a_review_the_broker_cannot_take_is_reported_not_raised() -> None:
    app = create_celery(f"redis://127.0.0.1:{free_port()}/0", publish_timeout=0.5)
    assert review_sender(app)(JOB) is False


def test_a_review_job_goes_to_the_review_queue_by_name(redis_server: RedisServer) -> None:
    app = create_celery(redis_server.url)
    assert review_sender(app)(JOB) is True
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_server.url)
    (raw,) = client.lrange(REVIEW_QUEUE, 0, -1)
    message = json.loads(raw)
    _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == REVIEW_TASK
    assert ReviewJob.from_dict(kwargs["job"]) == JOB
    client.delete(REVIEW_QUEUE)
    client.close()
