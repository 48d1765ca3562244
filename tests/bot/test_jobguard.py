"""The worker side of idempotency: the guard and the task wrapper, against a real Redis."""

from __future__ import annotations

import pytest
import redis

from codex_common.jobs import ReviewJob
from workers.guard import JobGuard, Outcome
from workers.runtime import Runtime
from workers.tasks import run_guarded

JOB = ReviewJob(
    delivery_id="d-9",
    installation_id=5,
    repository="o/r",
    pr_number=3,
    head_sha="b" * 40,
    trigger="synchronize",
)


def test_a_key_runs_once_and_then_is_done(redis_client: redis.Redis) -> None:
    guard = JobGuard(redis_client, lease_seconds=30)
    runs: list[int] = []
    assert guard.run("k", lambda: runs.append(1)) is Outcome.RAN
    assert guard.run("k", lambda: runs.append(2)) is Outcome.ALREADY_DONE
    assert runs == [1]
    assert guard.is_done("k")


def test_a_held_lease_drops_the_second_copy(redis_client: redis.Redis) -> None:
    guard = JobGuard(redis_client, lease_seconds=30)
    inner: list[Outcome] = []
    outer = guard.run("k", lambda: inner.append(guard.run("k", lambda: None)))
    assert (outer, inner) == (Outcome.RAN, [Outcome.BUSY])


def test_a_failure_releases_the_lease_and_does_not_count_as_a_crash(
    redis_client: redis.Redis,
) -> None:
    guard = JobGuard(redis_client, lease_seconds=30, max_attempts=1)

    def boom() -> None:
        raise ValueError("transient")

    with pytest.raises(ValueError, match="transient"):
        guard.run("k", boom)
    assert not guard.is_done("k")
    with pytest.raises(ValueError, match="transient"):
        guard.run("k", boom)
    # Two failures, yet one start allowed: only starts that never ended count.
    assert guard.run("k", lambda: None) is Outcome.RAN
    assert guard.attempts("k") == 1


def test_the_deadline_counts_from_the_first_start(redis_client: redis.Redis) -> None:
    guard = JobGuard(redis_client, lease_seconds=30)
    assert guard.elapsed("k", 1_000.0) == 0.0

    def boom() -> None:
        raise ValueError("transient")

    with pytest.raises(ValueError, match="transient"):
        guard.run("k", boom, now=1_000.0)
    with pytest.raises(ValueError, match="transient"):
        guard.run("k", boom, now=1_300.0)
    assert guard.elapsed("k", 1_600.0) == 600.0


def test_a_job_that_keeps_dying_is_given_up(redis_client: redis.Redis) -> None:
    guard = JobGuard(redis_client, lease_seconds=30, max_attempts=3)
    redis_client.set("codex:job:k:attempts", 3)  # three starts that never finished
    ran: list[int] = []
    assert guard.run("k", lambda: ran.append(1)) is Outcome.GAVE_UP
    assert ran == []
    assert guard.run("k", lambda: ran.append(1)) is Outcome.ALREADY_DONE


def test_run_guarded_runs_the_work_once_per_key(runtime: Runtime) -> None:
    seen: list[ReviewJob] = []
    first = run_guarded(JOB.to_dict(), ReviewJob.from_dict, lambda j, r: seen.append(j), runtime)
    redelivered = {**JOB.to_dict(), "delivery_id": "d-10"}
    second = run_guarded(redelivered, ReviewJob.from_dict, lambda j, r: seen.append(j), runtime)
    assert (first, second) == ("ran", "already_done")
    assert seen == [JOB]


def test_run_guarded_drops_a_malformed_job(runtime: Runtime) -> None:
    seen: list[object] = []
    outcome = run_guarded(
        {"delivery_id": "d-1", "pr_number": "7"},
        ReviewJob.from_dict,
        lambda j, r: seen.append(j),
        runtime,
    )
    assert outcome == "malformed"
    assert seen == []
