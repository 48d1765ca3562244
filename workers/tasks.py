"""The Celery tasks: thin wrappers that decode a job, guard it, and call the real work.

``codex.review`` -> ``workers.review.task.review_pull_request``, then, for a review
asked for with ``/codex review``, the answer to that comment; ``codex.command`` ->
``workers.commands.wiring.run_command``, which sends ``/codex review`` on as a
``codex.review`` job through this worker's Celery app.

``run_guarded`` is the one path every task takes: the idempotency guard
(``workers.guard``), then the one decision about a failure
(``workers.failures.describe``):

* transient (GitHub or the model unavailable or rate limited, Redis lost): the
  task is retried with exponential backoff and jitter (``retry_delay``), the
  countdown clamped below the broker's visibility timeout, until
  ``JOB_DEADLINE_SECONDS`` after the job's first start. A retry repeats little:
  answered segments come from the content cache, a posted review is found by
  its marker, a pushed commit by the guard's done mark;
* permanent, or transient past the deadline, or a job whose process kept
  dying: the job gives up *visibly*: a review completes its check run with the
  cause in plain words and how to ask again, a command replies in its thread
  and reacts confused. A log line with the delivery id and a counter
  (``codex:metrics:jobs`` in Redis) record every retry and every give-up.

``codex.redeliver`` (sent by the beat every ``REDELIVERY_INTERVAL_SECONDS``) asks
GitHub again for the deliveries that never reached the receiver
(``workers.redelivery``).

A malformed job is logged with its delivery id and dropped: no retry helps it.
This is the only catch-all below the HTTP edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import redis
import structlog
from celery import Celery, Task
from celery.exceptions import Reject
from kombu.exceptions import OperationalError

from codex_common.jobs import (
    COMMAND_TASK,
    DELIVERY_KEY_PREFIX,
    REDELIVERY_TASK,
    REVIEW_TASK,
    CommandJob,
    JobError,
    ReviewJob,
)
from codex_common.logs import get_logger
from workers import metrics
from workers.commands.wiring import answer_failed_command, answer_review_command, run_command
from workers.failures import CRASHED, Failure, describe, retry_delay
from workers.github.errors import GitHubError
from workers.guard import JobGuard, Outcome
from workers.redelivery import SweepSettings, sweep
from workers.review.task import report_review_failure, review_pull_request
from workers.runtime import Runtime, current

log = get_logger("workers.tasks")

_J = TypeVar("_J", ReviewJob, CommandJob)

JOB_COUNTERS = "codex:metrics:jobs"
_SWEEP_LOCK = "codex:redelivery:sweep"
# An attempt that starts with less time than this before the deadline is the last one.
_LAST_ATTEMPT_SECONDS = 60.0

Retry = Callable[[float, BaseException], NoReturn]


class JobBusy(Exception):
    """The job's lease is held: by a copy still running, or left by an attempt that failed
    while Redis was down."""


GiveUp = Callable[[_J, Runtime, Failure, int], None]


def guard_for(runtime: Runtime) -> JobGuard:
    return JobGuard(
        client=runtime.redis,
        lease_seconds=runtime.settings.limits.lease,
        max_attempts=runtime.settings.max_job_attempts,
    )


def time_left(runtime: Runtime, key: str) -> float:
    """Seconds before the job's deadline, counted from its first start; the whole deadline
    when Redis cannot say (deciding about a failure must not fail: the retry, or the
    message left unacknowledged, keeps the job)."""
    try:
        elapsed = guard_for(runtime).elapsed(key, time.time())
    except redis.RedisError as exc:
        log.warning("job start time unavailable", error=str(exc))
        elapsed = 0.0
    return runtime.settings.job_deadline_seconds - elapsed


def _count(runtime: Runtime, outcome: str, kind: str) -> None:
    try:
        runtime.redis.hincrby(JOB_COUNTERS, f"{outcome}:{kind}", 1)
    except redis.RedisError as exc:
        log.warning("job counter not recorded", error=str(exc))


def run_guarded(
    payload: Mapping[str, Any],
    decode: Callable[[Mapping[str, Any]], _J],
    work: Callable[[_J, Runtime], object],
    runtime: Runtime | None = None,
    *,
    retries: int = 0,
    retry: Retry | None = None,
    give_up: GiveUp[_J] | None = None,
) -> str:
    """Decode ``payload``, then run ``work`` once per job key. Returns the outcome's name.

    A failure is retried through ``retry(countdown, exc)`` (which raises, as Celery's
    ``Task.retry`` does) while it is transient and the deadline allows; otherwise
    ``give_up`` tells the user and the outcome is ``gave_up``.
    """
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
            try:
                outcome = guard_for(runtime).run(job.key, lambda: work(job, runtime))
            except Exception as exc:  # the task wrapper: every failure is decided here
                failure = describe(exc)
                left = time_left(runtime, job.key)
                if failure.transient and retry is not None:
                    delay = retry_delay(
                        retries,
                        remaining=left,
                        visibility_timeout=runtime.settings.visibility_timeout,
                    )
                    if delay is not None:
                        log.warning(
                            "job failed; retrying",
                            kind=failure.kind,
                            error=str(exc),
                            retry=retries + 1,
                            delay_seconds=round(delay, 1),
                        )
                        _count(runtime, "retried", failure.kind)
                        retry(delay, exc)
                log.error(
                    "job given up",
                    kind=failure.kind,
                    error=str(exc),
                    retries=retries,
                    exc_info=failure.kind == "internal",
                )
                _tell(job, runtime, failure, retries, give_up)
                return "gave_up"
            if outcome is Outcome.GAVE_UP:
                log.error("job given up: its process kept dying", kind=CRASHED.kind)
                _tell(job, runtime, CRASHED, retries, give_up)
            elif outcome is Outcome.BUSY and retry is not None and time_left(runtime, job.key) > 0:
                # Another copy holds the lease, or a failed attempt could not release it
                # (Redis was down): look again once the lease has run out. A holder that
                # finishes leaves the key done, and this copy then ends as a duplicate.
                wait = guard_for(runtime).lease_left(job.key)
                log.info("job busy; looking again later", delay_seconds=wait)
                retry(min(wait, runtime.settings.visibility_timeout / 2), JobBusy(job.key))
            else:
                log.info("job " + outcome.value.replace("_", " "))
            return outcome.value


def _tell(
    job: _J, runtime: Runtime, failure: Failure, retries: int, give_up: GiveUp[_J] | None
) -> None:
    _count(runtime, "given_up", failure.kind)
    if give_up is None:
        return
    minutes = round((runtime.settings.job_deadline_seconds - time_left(runtime, job.key)) / 60)
    try:
        give_up(job, runtime, failure, minutes if retries else 0)
    except (GitHubError, redis.RedisError) as exc:
        # Nowhere left to say it but the log: GitHub (or Redis) is what failed.
        log.error("could not tell the user that the job gave up", error=str(exc))


def review_and_answer(job: ReviewJob, runtime: Runtime) -> None:
    """Run the review; when a comment asked for it, answer that comment."""
    left = time_left(runtime, job.key)
    # The guard stamps the first start: time already gone means an earlier attempt ran.
    retried = left < runtime.settings.job_deadline_seconds - 1.0
    outcome = review_pull_request(
        job, runtime, may_retry=left > _LAST_ATTEMPT_SECONDS, retried=retried
    )
    answer_review_command(job, outcome, runtime)


def review_gave_up(job: ReviewJob, runtime: Runtime, failure: Failure, minutes: int) -> None:
    """The review's check run says why it gave up; a ``/codex review`` comment is answered."""
    metrics.review_ended("failed")
    report_review_failure(job, runtime, failure.text, retried_minutes=minutes)
    answer_review_command(job, None, runtime, failure.text)


def command_gave_up(job: CommandJob, runtime: Runtime, failure: Failure, minutes: int) -> None:
    """The command's thread is told why it gave up."""
    answer_failed_command(job, runtime, failure.text)


def redeliver_failed(runtime: Runtime | None = None, *, now: float | None = None) -> str:
    """One redelivery sweep (``workers.redelivery``), at most one at a time across every
    beat and worker sharing the broker."""
    runtime = runtime or current()
    settings = runtime.settings
    moment = time.time() if now is None else now
    hold = max(10, settings.redelivery_interval_seconds - 5)
    if not runtime.redis.set(_SWEEP_LOCK, moment, nx=True, ex=hold):
        return "busy"
    result = sweep(
        runtime.github,
        runtime.redis,
        ledger_prefix=DELIVERY_KEY_PREFIX,
        now=moment,
        settings=SweepSettings(lookback_seconds=settings.redelivery_lookback_seconds),
    )
    for name, count in (
        ("failed_events", result.failed_events),
        ("redelivered", result.redelivered),
        ("errors", result.errors),
    ):
        if count:
            runtime.redis.hincrby(JOB_COUNTERS, f"redelivery:{name}", count)
    return "swept"


def review_sender(app: Celery) -> Callable[[ReviewJob], bool]:
    """Send a review job by task name through ``app``; ``False`` when the broker refused."""

    def send(job: ReviewJob) -> bool:
        try:
            app.send_task(
                REVIEW_TASK,
                kwargs={"job": job.to_dict()},
                headers={metrics.ACCEPTED_HEADER: time.time()},
            )
        except OperationalError as exc:
            log.error("review job not queued", error=str(exc), review_key=job.key)
            return False
        return True

    return send


def _retrier(task: Task) -> Retry:
    def retry(countdown: float, exc: BaseException) -> NoReturn:
        try:
            raise task.retry(countdown=countdown, exc=exc, max_retries=None)
        except Reject as refused:
            # Celery could not publish the retry (the broker is down) and would drop the
            # job. Put the message itself back instead: if the broker is still down even
            # for that, the message stays unacknowledged and comes back after the
            # visibility timeout.
            log.warning("retry not queued; the job goes back on its queue", error=str(refused))
            raise Reject(str(refused), requeue=True) from exc

    return retry


def register_tasks(app: Celery) -> None:
    """Register the production tasks on ``app`` under their shared names."""
    send_review = review_sender(app)

    def review(task: Task, job: Mapping[str, Any]) -> str:
        outcome = run_guarded(
            job,
            ReviewJob.from_dict,
            review_and_answer,
            retries=task.request.retries,
            retry=_retrier(task),
            give_up=review_gave_up,
        )
        if outcome in (Outcome.RAN.value, "gave_up"):
            metrics.review_latency(getattr(task.request, metrics.ACCEPTED_HEADER, None))
        return outcome

    def command(task: Task, job: Mapping[str, Any]) -> str:
        return run_guarded(
            job,
            CommandJob.from_dict,
            lambda cmd, runtime: run_command(cmd, runtime, send_review),
            retries=task.request.retries,
            retry=_retrier(task),
            give_up=command_gave_up,
        )

    def redeliver() -> str:
        return redeliver_failed()

    # No retry count: the job's deadline bounds the retries (Celery reads a ``max_retries``
    # of None passed to ``retry`` as "the task's own", so the task's must be None too).
    app.task(name=REVIEW_TASK, bind=True, ignore_result=True, max_retries=None)(review)
    app.task(name=COMMAND_TASK, bind=True, ignore_result=True, max_retries=None)(command)
    app.task(name=REDELIVERY_TASK, ignore_result=True, acks_late=False)(redeliver)


def schedule_redelivery(app: Celery, interval_seconds: int, data_dir: Path) -> None:
    """Have the beat (``codex-bot beat``, or the one ``serve`` embeds) send the sweep every
    ``interval_seconds``; 0 leaves it off."""
    if interval_seconds <= 0:
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    app.conf.beat_schedule = {
        "redeliver-failed-deliveries": {
            "task": REDELIVERY_TASK,
            "schedule": float(interval_seconds),
            # A sweep not started within one interval is replaced by the next one.
            "options": {"expires": float(interval_seconds)},
        }
    }
    app.conf.beat_schedule_filename = str(data_dir / "celerybeat-schedule")
