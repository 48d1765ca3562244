"""A test-only task loaded into a real worker with Celery's ``--include``.

It goes through the production path (``run_guarded``: job decoding, the
idempotency guard, the app's acks_late / reject_on_worker_lost configuration)
and records in Redis when it starts and when it completes, sleeping in between
so the test can kill the worker mid-job.
"""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from codex_common.jobs import ReviewJob
from workers.runtime import Runtime
from workers.tasks import run_guarded

SLOW_TASK = "intake_test.slow"
STARTED = "intake_test:started"
COMPLETED = "intake_test:completed"
SLEEP_SECONDS = 3.0


def _slow_work(job: ReviewJob, runtime: Runtime) -> None:
    runtime.redis.rpush(STARTED, job.key)
    time.sleep(SLEEP_SECONDS)
    runtime.redis.rpush(COMPLETED, job.key)


@shared_task(name=SLOW_TASK, ignore_result=True)
def slow(job: dict[str, Any]) -> str:
    return run_guarded(job, ReviewJob.from_dict, _slow_work)
