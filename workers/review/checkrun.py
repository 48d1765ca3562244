"""The "Codex review" check run of one job, from opening to its one completion.

Check runs are informative, so nothing here raises: when GitHub refuses one
(no ``checks`` permission, an outage) the review goes on without it, and a
Redis failure only costs the crash-recovery id. The lifecycle:

- ``open_in(pool)`` opens it in the background (a paced write nothing waits
  for): the in-progress run a crashed attempt left at this head, found through
  the records, or a new one; ``id()`` waits for it (``None``: no check run);
- exactly one of ``finish`` (the review's own conclusion), ``finish_neutral``
  (already reviewed, nothing new, superseded) or ``abandon`` (the run failed)
  completes it. A completed run is not reopened: a ``/codex review`` of the same
  head gets a check run of its own, and the first one keeps its result.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Protocol

import redis

from workers.github.errors import GitHubError, NotFound
from workers.github.models import CheckRun
from workers.jobs import ReviewJob
from workers.logs import get_logger

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


class CheckRunIds(Protocol):
    """Where the open check run's id is kept for a crashed run's retry (``ReviewRecords``)."""

    def check_run(self, job: ReviewJob, head_sha: str) -> int | None: ...

    def remember_check_run(self, job: ReviewJob, head_sha: str, check_run_id: int) -> None: ...

    def forget_check_run(self, job: ReviewJob, head_sha: str) -> None: ...


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

    def abandon(self, exc: BaseException) -> None:
        """Complete the check run honestly after a failure; the retry opens a fresh one."""
        check_id = self.id()
        if check_id is None:
            return
        self.finish_neutral(
            "Review interrupted",
            f"The review of `{self._head[:12]}` stopped before it finished "
            f"({type(exc).__name__}). Nothing was posted; it is retried automatically when "
            "possible, or comment `/codex review` to ask again.",
        )
        # Even when completing it failed: a retry must not reuse a run left in progress.
        self._forget(check_id)

    def _forget(self, check_id: int) -> None:
        try:
            self._ids.forget_check_run(self._job, self._head)
        except redis.RedisError as exc:
            log.warning("could not forget the check run", check_run_id=check_id, error=str(exc))
