"""The one place a failed job is decided: retried while transient and in time, else
given up with the user told; a held lease is looked at again, never dropped."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
import redis

from codex_common.jobs import COMMAND_TASK, REVIEW_TASK, ReviewJob
from workers.celery_app import create_celery
from workers.failures import Failure
from workers.github.errors import GitHubError
from workers.redis_server import RedisServer
from workers.runtime import Runtime
from workers.tasks import JobBusy, register_tasks, run_guarded

JOB = ReviewJob("d-1", 1, "o/r", 2, "a" * 40, "opened")


class Retried(Exception):
    def __init__(self, countdown: float, exc: BaseException) -> None:
        super().__init__(countdown)
        self.countdown = countdown
        self.exc = exc


def retry(countdown: float, exc: BaseException) -> NoReturn:
    raise Retried(countdown, exc)


def told(calls: list[tuple[str, int]]) -> Any:
    def give_up(job: ReviewJob, runtime: Runtime, failure: Failure, minutes: int) -> None:
        calls.append((failure.kind, minutes))

    return give_up


def test_a_transient_failure_is_retried_with_a_countdown(runtime: Runtime) -> None:
    def work(job: ReviewJob, rt: Runtime) -> None:
        raise GitHubError.from_response(502, {"message": "Bad gateway"}, {})

    calls: list[tuple[str, int]] = []
    with pytest.raises(Retried) as retried:
        run_guarded(
            JOB.to_dict(), ReviewJob.from_dict, work, runtime, retry=retry, give_up=told(calls)
        )
    assert 1 <= retried.value.countdown <= 5
    assert calls == []
    counters = runtime.redis.hgetall("codex:metrics:jobs")
    assert counters == {b"retried:github_unavailable": b"1"}


def test_a_permanent_failure_gives_up_at_once_and_tells_the_user(runtime: Runtime) -> None:
    def work(job: ReviewJob, rt: Runtime) -> None:
        raise GitHubError.from_response(404, {"message": "Not Found"}, {})

    calls: list[tuple[str, int]] = []
    outcome = run_guarded(
        JOB.to_dict(), ReviewJob.from_dict, work, runtime, retry=retry, give_up=told(calls)
    )
    assert outcome == "gave_up"
    assert calls == [("github_not_found", 0)]


def test_past_the_deadline_a_transient_failure_gives_up(runtime: Runtime) -> None:
    runtime.redis.set(f"codex:job:{JOB.key}:first", 0)  # first started long ago

    def work(job: ReviewJob, rt: Runtime) -> None:
        raise GitHubError.from_response(503, {"message": "Unavailable"}, {})

    calls: list[tuple[str, int]] = []
    outcome = run_guarded(
        JOB.to_dict(),
        ReviewJob.from_dict,
        work,
        runtime,
        retries=9,
        retry=retry,
        give_up=told(calls),
    )
    assert outcome == "gave_up"
    assert calls[0][0] == "github_unavailable"
    assert calls[0][1] > 60  # minutes it was retried for


def test_a_copy_that_finds_the_lease_held_looks_again_when_it_runs_out(
    runtime: Runtime,
) -> None:
    runtime.redis.set(f"codex:job:{JOB.key}:lease", "other", ex=20)
    ran: list[ReviewJob] = []
    with pytest.raises(Retried) as retried:
        run_guarded(
            JOB.to_dict(), ReviewJob.from_dict, lambda j, r: ran.append(j), runtime, retry=retry
        )
    assert isinstance(retried.value.exc, JobBusy)
    assert 15 <= retried.value.countdown <= 20
    assert ran == []


def test_the_tasks_have_no_retry_count_of_their_own(redis_server: RedisServer) -> None:
    app = create_celery(redis_server.url)
    register_tasks(app)
    assert app.tasks[REVIEW_TASK].max_retries is None
    assert app.tasks[COMMAND_TASK].max_retries is None


def test_a_redis_error_while_deciding_does_not_lose_the_job(runtime: Runtime) -> None:
    def work(job: ReviewJob, rt: Runtime) -> None:
        raise redis.ConnectionError("Redis went away")

    with pytest.raises(Retried) as retried:
        run_guarded(JOB.to_dict(), ReviewJob.from_dict, work, runtime, retry=retry)
    assert isinstance(retried.value.exc, redis.ConnectionError)
