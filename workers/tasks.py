"""The Celery tasks: thin wrappers that decode a job, guard it, and call the real work.

``codex.review`` -> ``workers.review.task.review_pull_request``, then, for a review asked
for with ``/codex review``, the answer to that comment; ``codex.command`` ->
``workers.commands.wiring.run_command``, which sends ``/codex review`` on as a
``codex.review`` job through this worker's Celery app. A malformed job is
logged with its delivery id and dropped, never retried. ``run_guarded`` is the
one path every task (including ones added later) takes through the idempotency
guard; it is the only catch-all below the HTTP edge, and it re-raises after
logging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog
from celery import Celery
from kombu.exceptions import OperationalError

from codex_common.jobs import COMMAND_TASK, REVIEW_TASK, CommandJob, JobError, ReviewJob
from codex_common.logs import get_logger
from workers.commands.wiring import answer_review_command, run_command
from workers.github.errors import GitHubError
from workers.guard import JobGuard
from workers.review.task import review_pull_request
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


def review_and_answer(job: ReviewJob, runtime: Runtime) -> None:
    """Run the review; when a comment asked for it, answer that comment either way.

    A review that raises is answered with the failure reply (best effort: a
    failing reply is logged) and the exception propagates to ``run_guarded``.
    """
    try:
        outcome = review_pull_request(job, runtime)
    except Exception:
        try:
            answer_review_command(job, None, runtime)
        except GitHubError as exc:
            log.warning("could not answer the review command", error=str(exc))
        raise
    answer_review_command(job, outcome, runtime)


def review_sender(app: Celery) -> Callable[[ReviewJob], bool]:
    """Send a review job by task name through ``app``; ``False`` when the broker refused."""

    def send(job: ReviewJob) -> bool:
        try:
            app.send_task(REVIEW_TASK, kwargs={"job": job.to_dict()})
        except OperationalError as exc:
            log.error("review job not queued", error=str(exc), review_key=job.key)
            return False
        return True

    return send


def register_tasks(app: Celery) -> None:
    """Register the production tasks on ``app`` under their shared names."""
    send_review = review_sender(app)

    def review(job: Mapping[str, Any]) -> str:
        return run_guarded(job, ReviewJob.from_dict, review_and_answer)

    def command(job: Mapping[str, Any]) -> str:
        return run_guarded(
            job, CommandJob.from_dict, lambda cmd, runtime: run_command(cmd, runtime, send_review)
        )

    app.task(name=REVIEW_TASK, ignore_result=True)(review)
    app.task(name=COMMAND_TASK, ignore_result=True)(command)
