"""The Celery tasks: thin wrappers that decode a job, guard it, and call the real work.

``codex.review`` -> ``workers.pipeline.run_review``; ``codex.command`` ->
``workers.commands.run_command``. A malformed job is logged with its delivery
id and dropped, never retried. ``run_guarded`` is the one path every task
(including ones added later) takes through the idempotency guard; it is the
only catch-all below the HTTP edge, and it re-raises after logging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog
from celery import Celery

from codex_common.jobs import COMMAND_TASK, REVIEW_TASK, CommandJob, JobError, ReviewJob
from codex_common.logs import get_logger
from workers import commands, pipeline
from workers.ledger import JobGuard
from workers.runtime import Runtime, current

log = get_logger("workers.tasks")

_J = TypeVar("_J", ReviewJob, CommandJob)


def guard_for(runtime: Runtime) -> JobGuard:
    return JobGuard(
        client=runtime.redis,
        lease_seconds=runtime.settings.limits.lease,
        max_attempts=runtime.settings.max_job_attempts,
    )


def run_guarded(
    payload: Mapping[str, Any],
    decode: Callable[[Mapping[str, Any]], _J],
    work: Callable[[_J, Runtime], object],
    runtime: Runtime | None = None,
) -> str:
    """Decode ``payload``, then run ``work`` once per job key. Returns the outcome's name."""
    delivery_id = payload.get("delivery_id") if isinstance(payload, Mapping) else None
    with structlog.contextvars.bound_contextvars(delivery_id=delivery_id):
        try:
            job = decode(payload)
        except JobError as exc:
            log.error("malformed job dropped", error=str(exc))
            return "malformed"
        runtime = runtime or current()
        with structlog.contextvars.bound_contextvars(
            installation_id=job.installation_id, job_key=job.key
        ):

            def call() -> None:
                work(job, runtime)

            try:
                outcome = guard_for(runtime).run(job.key, call)
            except Exception:
                log.exception("job failed")
                raise
            if outcome.value == "gave_up":
                log.error("job given up after too many attempts")
            else:
                log.info("job " + outcome.value.replace("_", " "))
            return outcome.value


def _review(job: Mapping[str, Any]) -> str:
    return run_guarded(job, ReviewJob.from_dict, pipeline.run_review)


def _command(job: Mapping[str, Any]) -> str:
    return run_guarded(job, CommandJob.from_dict, commands.run_command)


def register_tasks(app: Celery) -> None:
    """Register the production tasks on ``app`` under their shared names."""
    app.task(name=REVIEW_TASK, ignore_result=True)(_review)
    app.task(name=COMMAND_TASK, ignore_result=True)(_command)
