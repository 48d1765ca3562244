"""The "Codex review" check run of one job, from opening to its one completion.

Check runs are informative, so nothing here raises: when GitHub refuses one
(no ``checks`` permission, an outage) the review goes on without it, and a
Redis failure only costs the crash-recovery id. The lifecycle:

- ``open_in(pool)`` opens it in the background (a paced write nothing waits
  for): the in-progress run a crashed attempt left at this head, found through
  the records, or a new one; ``id()`` waits for it (``None``: no check run);
- exactly one of ``finish`` (the review's own conclusion) or ``finish_neutral``
  (already reviewed, nothing new, superseded) completes it. A completed run is
  not reopened: a ``/codex review`` of the same head gets a check run of its
  own, and the first one keeps its result;
- a run that fails leaves its check run in progress: the job's next attempt
  reuses it, and when the job gives up, ``report_failure`` completes it (or
  opens one that says so) with the cause in plain words and how to retry.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Protocol

import redis

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.github.errors import GitHubError, NotFound
from workers.github.models import CheckRun

log = get_logger("workers.review")


class CheckRunApi(Protocol):
    """The two GitHub calls a check run needs (``GitHubClient`` has them)."""

    def create_check_run(
        self, name: str, head_sha: str, *, status: str = ..., external_id: str | None = ...
    ) -> CheckRun: ...

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = ...,
        conclusion: str | None = ...,
        title: str | None = ...,
        summary: str | None = ...,
        text: str | None = ...,
    ) -> CheckRun: ...


class CheckRunFinder(CheckRunApi, Protocol):
    """A client that can also find a head's check run by its external id."""

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> CheckRun | None: ...


class CheckRunIds(Protocol):
    """Where the open check run's id is kept for a crashed run's retry (``ReviewRecords``)."""

    def check_run(self, job: ReviewJob, head_sha: str) -> int | None: ...

    def remember_check_run(self, job: ReviewJob, head_sha: str, check_run_id: int) -> None: ...

    def forget_check_run(self, job: ReviewJob, head_sha: str) -> None: ...


def _done(value: int | None) -> Future[int | None]:
    future: Future[int | None] = Future()
    future.set_result(value)
    return future


class ReviewCheckRun:
    """The check run of ``job`` at ``head_sha``; a run never opened has no id and
    every completion is then a no-op (a dry run)."""

    def __init__(
        self, api: CheckRunApi, ids: CheckRunIds, job: ReviewJob, head_sha: str, name: str
    ) -> None:
        self._api = api
        self._ids = ids
        self._job = job
        self._head = head_sha
        self._name = name
        self._opening: Future[int | None] | None = None

    def open_in(self, pool: Executor) -> None:
        """Start opening the check run on ``pool``; ``id()`` waits for it."""
        self._opening = pool.submit(self.open)

    def open_now(self) -> int | None:
        """``open`` on this thread; ``id()`` then answers at once."""
        self._opening = _done(self.open())
        return self.id()

    def id(self) -> int | None:
        return None if self._opening is None else self._opening.result()

    def open(self) -> int | None:
        """The in-progress check run for this head: the one a crashed run left, or a new one."""
        try:
            existing = self._ids.check_run(self._job, self._head)
        except redis.RedisError as exc:
            log.warning("could not look up an earlier check run", error=str(exc))
            existing = None
        try:
            if existing is not None:
                try:
                    self._api.update_check_run(existing, status="in_progress")
                    return existing
                except NotFound:
                    pass
            created = self._api.create_check_run(
                self._name, self._head, status="in_progress", external_id=self._job.key
            )
        except GitHubError as exc:
            log.warning("no check run for this review", error=str(exc))
            return None
        try:
            self._ids.remember_check_run(self._job, self._head, created.id)
        except redis.RedisError as exc:
            # Only a crashed run's retry needs it: it would open a second check run.
            log.warning("could not remember the check run", check_run_id=created.id, error=str(exc))
        return created.id

    def finish(self, conclusion: str, title: str, summary: str, text: str | None = None) -> None:
        """Complete the check run with ``conclusion``; nothing when there is none."""
        check_id = self.id()
        if check_id is None:
            return
        try:
            self._api.update_check_run(
                check_id,
                status="completed",
                conclusion=conclusion,
                title=title,
                summary=summary,
                text=text,
            )
        except GitHubError as exc:
            log.warning("could not complete the check run", check_run_id=check_id, error=str(exc))
            return
        self._forget(check_id)

    def finish_neutral(self, title: str, summary: str) -> None:
        """Complete it as ``neutral``: the run ended without a review of its own."""
        self.finish("neutral", title, summary)

    def report_failure(self, cause: str, *, retried_minutes: int = 0) -> bool:
        """Complete this head's check run (the one left in progress, else a new one) as
        failed: ``cause`` is one plain sentence. True when GitHub took it."""
        if (self.id() if self._opening is not None else self.open_now()) is None:
            return False
        retried = f" It was retried for {retried_minutes} minutes." if retried_minutes else ""
        summary = (
            f"The review of `{self._head[:12]}` could not finish: {cause}{retried} "
            "Nothing was posted. Comment `/codex review` on the pull request to try again."
        )
        check_id = self.id()
        try:
            self._api.update_check_run(
                check_id or 0,
                status="completed",
                conclusion="neutral",
                title="Review failed",
                summary=summary,
            )
        except GitHubError as exc:
            log.warning("could not report the failure", check_run_id=check_id, error=str(exc))
            return False
        self._forget(check_id or 0)
        return True

    def _forget(self, check_id: int) -> None:
        try:
            self._ids.forget_check_run(self._job, self._head)
        except redis.RedisError as exc:
            log.warning("could not forget the check run", check_run_id=check_id, error=str(exc))


ALREADY_REVIEWED = "Already reviewed"


def already_reviewed_text(head: str) -> str:
    return f"A review of `{head[:12]}` was already posted on this pull request."


def complete_left_open(
    api: CheckRunFinder,
    ids: CheckRunIds,
    job: ReviewJob,
    head: str,
    name: str,
    *,
    look: bool,
) -> None:
    """Complete, as already reviewed, the check run an attempt left open after its review
    posted (stopped by its time limit, its process killed). It is found through ``ids``,
    or with ``look`` on GitHub by the job's key: an attempt whose background opening
    outlived it may have recorded the run too late for the next one."""
    if ids.check_run(job, head) is None:
        if not look:
            return
        try:
            left = api.find_check_run(head, name, job.key)
        except GitHubError as exc:
            log.warning("could not look for a check run left open", error=str(exc))
            return
        if left is None or left.status == "completed":
            return
        try:
            ids.remember_check_run(job, head, left.id)
        except redis.RedisError as exc:
            log.warning("could not remember the check run", error=str(exc))
            return
    check = ReviewCheckRun(api, ids, job, head, name)
    check.open_now()
    check.finish_neutral(ALREADY_REVIEWED, already_reviewed_text(head))
