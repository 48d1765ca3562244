"""Automatic reviews of pull requests by outsiders: authors without write access.

Anyone can open a pull request on a public repository (from a fork, typically),
and every push would otherwise be reviewed at the operator's expense.
``OUTSIDER_REVIEWS`` says what an automatic review of such a PR does:

- ``review``: the same as anyone's;
- ``limited`` (the default): at most ``OUTSIDER_REVIEWS_PER_PR_PER_DAY`` automatic
  reviews of one PR and ``OUTSIDER_REVIEWS_PER_AUTHOR_PER_DAY`` of one author's PRs
  per repository and UTC day; past either, the push is not reviewed;
- ``command``: none; a maintainer asks with ``/codex review``.

Write access is the one decision ``/codex`` commands use
(``workers.commands.access``): the author's ``author_association`` rules people out
without a call, the collaborator permission endpoint decides the rest. A fork's PR
by someone with write access is a maintainer's. ``/codex review`` (asked by a
maintainer) is never held. A held review completes its check run as ``neutral``
with a plain sentence saying why and how to get a review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from codex_common.jobs import ReviewJob
from workers.commands.access import PermissionReader, has_write_access
from workers.github.models import PullRequest

OutsiderMode = Literal["review", "limited", "command"]


@dataclass(frozen=True, slots=True)
class OutsiderPolicy:
    mode: OutsiderMode = "limited"
    per_pr_per_day: int = 3
    per_author_per_day: int = 10


@dataclass(frozen=True, slots=True)
class Held:
    """Why an automatic review does not run, for the check run."""

    title: str
    summary: str


def day_of(timestamp: float) -> str:
    """The UTC day the daily limits count in."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


_ASK = "A maintainer can ask for a review with `/codex review`."


def hold(
    policy: OutsiderPolicy, *, pr_reviews_today: int, author_reviews_today: int
) -> Held | None:
    """Whether an outsider's automatic review is held, and the sentence that says why.
    Pure: the caller knows the author lacks write access and counted today's reviews."""
    if policy.mode == "review":
        return None
    if policy.mode == "command":
        return Held(
            "Not reviewed automatically",
            "The author of this pull request has no write access to this repository, and "
            f"such pull requests are reviewed on request only. {_ASK}",
        )
    if pr_reviews_today >= policy.per_pr_per_day:
        return Held(
            "Review limit reached",
            f"This pull request had {pr_reviews_today} automatic reviews today, the most "
            f"allowed for authors without write access; pushes are reviewed again "
            f"tomorrow (UTC). {_ASK}",
        )
    if author_reviews_today >= policy.per_author_per_day:
        return Held(
            "Review limit reached",
            f"Pull requests by this author had {author_reviews_today} automatic reviews today, "
            f"the most allowed for authors without write access; pushes are reviewed "
            f"again tomorrow (UTC). {_ASK}",
        )
    return None


class Counts(Protocol):
    """The day's automatic reviews of outsiders' PRs (``ReviewRecords`` keeps them)."""

    def outsider_reviews(self, job: ReviewJob, author: str, day: str) -> tuple[int, int]: ...
    def count_outsider_review(self, job: ReviewJob, author: str, day: str) -> None: ...


def is_outsider(gh: PermissionReader, pull: PullRequest) -> bool:
    """Whether the PR's author lacks write access (at most one API call)."""
    return not has_write_access(gh, pull.author_login, pull.author_association)


def admit(
    counts: Counts,
    job: ReviewJob,
    author: str,
    policy: OutsiderPolicy,
    now: float,
    *,
    record: bool = True,
) -> Held | None:
    """``hold`` for an outsider's PR with today's counts; an admitted review is counted
    (unless ``record`` is false: a dry run)."""
    day = day_of(now)
    pr_today, author_today = counts.outsider_reviews(job, author, day)
    held = hold(policy, pr_reviews_today=pr_today, author_reviews_today=author_today)
    if held is None and record and policy.mode == "limited":
        counts.count_outsider_review(job, author, day)
    return held
