"""The check run's lifecycle, against typed doubles of GitHub and the records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from codex_common.jobs import ReviewJob
from workers.github.errors import NotFound, PermissionDenied, ServerError
from workers.github.models import CheckRun
from workers.review.checkrun import (
    CheckRunApi,
    CheckRunIds,
    ReviewCheckRun,
    complete_left_open,
)

HEAD = "a" * 40
JOB = ReviewJob("d-1", 7, "acme/calc", 3, HEAD, "opened")


@dataclass
class Checks:
    """GitHub's check runs: ``refuse`` fails creating, ``gone`` ids answer 404 on update."""

    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    refuse: Exception | None = None
    fail_updates: Exception | None = None
    gone: set[int] = field(default_factory=set)

    def create_check_run(
        self,
        name: str,
        head_sha: str,
        *,
        status: str = "in_progress",
        external_id: str | None = None,
    ) -> CheckRun:
        if self.refuse is not None:
            raise self.refuse
        run_id = 100 + len(self.runs)
        self.runs[run_id] = {"name": name, "status": status, "external_id": external_id}
        return CheckRun(run_id, name, status, None, head_sha)

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
    ) -> CheckRun:
        if check_run_id in self.gone:
            raise NotFound("Not Found", status=404)
        if self.fail_updates is not None:
            raise self.fail_updates
        run = self.runs.setdefault(check_run_id, {})
        run.update(status=status, conclusion=conclusion, title=title, summary=summary, text=text)
        return CheckRun(check_run_id, "Codex review", status or "", conclusion, HEAD)


@dataclass
class Ids:
    """The records' check-run ids; ``broken`` makes every call a Redis error."""

    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    broken: bool = False

    def _check(self) -> None:
        if self.broken:
            raise redis.ConnectionError("Redis is down")

    def check_run(self, job: ReviewJob, head_sha: str) -> int | None:
        self._check()
        return self.ids.get((job.key, head_sha))

    def remember_check_run(self, job: ReviewJob, head_sha: str, check_run_id: int) -> None:
        self._check()
        self.ids[(job.key, head_sha)] = check_run_id

    def forget_check_run(self, job: ReviewJob, head_sha: str) -> None:
        self._check()
        self.ids.pop((job.key, head_sha), None)


def opened(checks: CheckRunApi, ids: CheckRunIds) -> ReviewCheckRun:
    check = ReviewCheckRun(checks, ids, JOB, HEAD, "Codex review")
    with ThreadPoolExecutor(max_workers=1) as pool:
        check.open_in(pool)
        check.id()
    return check


def test_a_new_check_run_is_remembered_until_it_is_finished() -> None:
    checks, ids = Checks(), Ids()

    check = opened(checks, ids)

    assert check.id() == 100
    assert checks.runs[100]["external_id"] == JOB.key
    assert ids.ids == {(JOB.key, HEAD): 100}
    check.finish("success", "No problems", "Reviewed 1 file.", "details")
    assert checks.runs[100]["status"] == "completed"
    assert checks.runs[100]["conclusion"] == "success"
    assert checks.runs[100]["text"] == "details"
    assert ids.ids == {}


def test_a_crashed_runs_check_run_is_reused_and_a_vanished_one_replaced() -> None:
    checks, ids = Checks(), Ids({(JOB.key, HEAD): 42})
    assert opened(checks, ids).id() == 42
    assert checks.runs[42]["status"] == "in_progress"

    checks.gone.add(42)
    assert opened(checks, ids).id() == 101
    assert ids.ids == {(JOB.key, HEAD): 101}


def test_the_neutral_ends_complete_it_as_neutral() -> None:
    checks = Checks()
    check = opened(checks, Ids())

    check.finish_neutral("Superseded", "The pull request moved.")

    assert checks.runs[100]["conclusion"] == "neutral"
    assert checks.runs[100]["title"] == "Superseded"
    assert checks.runs[100]["summary"] == "The pull request moved."


def test_when_github_refuses_a_check_run_the_review_goes_on_without_one() -> None:
    checks, ids = Checks(refuse=PermissionDenied("no checks permission", status=403)), Ids()

    check = opened(checks, ids)

    assert check.id() is None
    check.finish("success", "t", "s")
    assert check.report_failure("GitHub did not answer.") is False
    assert checks.runs == {}
    assert ids.ids == {}


def test_a_broken_redis_costs_only_the_crash_recovery_id() -> None:
    checks = Checks()
    check = opened(checks, Ids(broken=True))

    assert check.id() == 100
    check.finish("success", "t", "s")
    assert checks.runs[100]["status"] == "completed"


def test_a_failure_completes_the_run_left_in_progress_with_the_cause_and_how_to_retry() -> None:
    checks, ids = Checks(), Ids()
    opened(checks, ids)

    # The job gave up in a later attempt: a fresh object finds the run through the records.
    later = ReviewCheckRun(checks, ids, JOB, HEAD, "Codex review")
    assert later.report_failure("GitHub did not answer.", retried_minutes=30) is True

    assert list(checks.runs) == [100]
    run = checks.runs[100]
    assert (run["status"], run["conclusion"], run["title"]) == (
        "completed",
        "neutral",
        "Review failed",
    )
    assert "GitHub did not answer. It was retried for 30 minutes." in run["summary"]
    assert "`/codex review`" in run["summary"]
    assert "Error" not in run["summary"]
    assert ids.ids == {}


def test_a_failure_before_any_check_run_opens_one_that_says_so() -> None:
    checks, ids = Checks(), Ids()
    check = ReviewCheckRun(checks, ids, JOB, HEAD, "Codex review")

    assert check.report_failure("The OpenAI API key has no quota left.") is True
    assert checks.runs[100]["conclusion"] == "neutral"
    assert "no quota left" in checks.runs[100]["summary"]


def test_a_failure_github_cannot_take_is_kept_for_the_next_try() -> None:
    checks, ids = Checks(), Ids()
    opened(checks, ids)
    checks.fail_updates = ServerError("GitHub is down", status=502)

    later = ReviewCheckRun(checks, ids, JOB, HEAD, "Codex review")
    assert later.report_failure("GitHub did not answer.") is False
    assert ids.ids != {}


def test_a_run_never_opened_finishes_nothing() -> None:
    checks, ids = Checks(), Ids()
    check = ReviewCheckRun(checks, ids, JOB, HEAD, "Codex review")

    check.finish_neutral("Already reviewed", "...")

    assert check.id() is None
    assert checks.runs == {}


@dataclass
class FindingChecks(Checks):
    """GitHub's check runs, searchable by head and external id."""

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> CheckRun | None:
        for run_id, run in self.runs.items():
            if run.get("external_id") == external_id:
                return CheckRun(run_id, name, run["status"], run.get("conclusion"), head_sha)
        return None


def test_a_retry_completes_a_run_its_stopped_attempt_recorded_too_late() -> None:
    checks, ids = FindingChecks(), Ids()
    checks.create_check_run("Codex review", HEAD, status="in_progress", external_id=JOB.key)

    complete_left_open(checks, ids, JOB, HEAD, "Codex review", look=False)
    assert checks.runs[100]["status"] == "in_progress"  # nothing recorded, not asked to look

    complete_left_open(checks, ids, JOB, HEAD, "Codex review", look=True)
    assert (checks.runs[100]["status"], checks.runs[100]["title"]) == (
        "completed",
        "Already reviewed",
    )
    assert ids.ids == {}
