"""Pure decisions of the review: whether to review, what, and what to post where.

Nothing here reads GitHub or the model: every function takes plain values
(PR state, compare status, anchored findings, prior fingerprints) and returns
a decision the review task acts on.

Anchored findings are read through the small ``AnchoredLike`` protocol (the
anchor engine's ``AnchoredFinding`` satisfies it), so this module does not
depend on the diff package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, Literal, Protocol, TypeVar

from workers.findings import Finding
from workers.review.config import RepoConfig
from workers.review.fingerprint import fingerprint_of


class AnchoredLike(Protocol):
    """A finding placed on a commentable line of the diff (RIGHT side, new numbers)."""

    @property
    def finding(self) -> Finding: ...
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def start_line(self) -> int | None: ...
    @property
    def side(self) -> str: ...
    @property
    def suggestion(self) -> str | None: ...


class UnanchoredLike(Protocol):
    """A finding whose quote could not be found in the diff, and why."""

    @property
    def finding(self) -> Finding: ...
    @property
    def reason(self) -> str: ...


A = TypeVar("A", bound=AnchoredLike)


# -- whether to review --------------------------------------------------------


class SkipReason(StrEnum):
    CLOSED = "closed"
    DRAFT = "draft"
    BOT_AUTHOR = "bot_author"
    AUTO_REVIEW_OFF = "auto_review_off"

    @property
    def message(self) -> str:
        return _SKIP_MESSAGES[self]


_SKIP_MESSAGES: Final = {
    SkipReason.CLOSED: "the pull request is closed",
    SkipReason.DRAFT: "the pull request is a draft (set `review_drafts: true` to review drafts)",
    SkipReason.BOT_AUTHOR: "the pull request was opened by a bot (set `review_bot_prs: true`)",
    SkipReason.AUTO_REVIEW_OFF: "automatic review is off (`auto_review: false`); "
    "comment `/codex review` to ask for one",
}


def skip_reason(
    *,
    state: str,
    draft: bool,
    author_login: str,
    author_type: str | None,
    config: RepoConfig,
    requested: bool,
) -> SkipReason | None:
    """Why this PR is not reviewed, or ``None`` to review it.

    ``requested`` is true for ``/codex review``: a person asked, so only a closed
    PR is refused; drafts, bot authors and ``auto_review: false`` apply to
    automatic reviews.
    """
    if state != "open":
        return SkipReason.CLOSED
    if requested:
        return None
    if not config.auto_review:
        return SkipReason.AUTO_REVIEW_OFF
    if draft and not config.review_drafts:
        return SkipReason.DRAFT
    is_bot = author_type == "Bot" or author_login.lower().endswith("[bot]")
    if is_bot and not config.review_bot_prs:
        return SkipReason.BOT_AUTHOR
    return None


# -- what to review -----------------------------------------------------------

CompareStatus = Literal["ahead", "behind", "diverged", "identical"]


@dataclass(frozen=True, slots=True)
class ReviewScope:
    """``full``: the whole PR diff; ``incremental``: only ``since_sha...head``;
    ``up_to_date``: this head was already reviewed, post nothing."""

    kind: Literal["full", "incremental", "up_to_date"]
    reason: str
    since_sha: str | None = None


def review_scope(
    *,
    head_sha: str,
    last_reviewed_sha: str | None,
    compare_status: CompareStatus | None,
    incremental: bool,
    compare_truncated: bool = False,
) -> ReviewScope:
    """Incremental or full, from the last reviewed head and the compare API's status.

    ``compare_status`` is the status of ``last_reviewed_sha...head_sha`` (``None``
    when the compare failed, for example because a force-push dropped the old
    commit). Only ``ahead`` means the old head is an ancestor of the new one;
    anything else is a rebase or force-push, and the whole PR is reviewed again.
    ``compare_truncated`` (the compare lists at most 300 files) also forces a full
    review, since the increment cannot be seen whole.
    """
    if last_reviewed_sha is None:
        return ReviewScope("full", "no earlier review")
    if last_reviewed_sha == head_sha or compare_status == "identical":
        return ReviewScope("up_to_date", f"`{head_sha[:12]}` was already reviewed")
    if not incremental:
        return ReviewScope("full", "incremental review is off (`incremental: false`)")
    if compare_status == "ahead" and not compare_truncated:
        return ReviewScope(
            "incremental", f"changes since `{last_reviewed_sha[:12]}`", last_reviewed_sha
        )
    if compare_status == "ahead":
        return ReviewScope("full", "too many files changed since the last review to compare")
    if compare_status is None:
        return ReviewScope("full", "the last reviewed commit could not be compared")
    return ReviewScope(
        "full", f"history was rewritten since `{last_reviewed_sha[:12]}` ({compare_status})"
    )


# -- what to post where -------------------------------------------------------

ListReason = Literal["below_threshold", "low_confidence", "over_cap"]

DEFAULT_MIN_CONFIDENCE: Final = 0.6


@dataclass(frozen=True, slots=True)
class Inline(Generic[A]):
    """A finding posted as an inline comment."""

    anchored: A
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Listed:
    """A placed finding written in the review body instead of inline, at its anchored
    line."""

    finding: Finding
    fingerprint: str
    path: str
    line: int
    reason: ListReason
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A finding that could not be placed on the diff (its quote is not in the file, its
    lines are not in the diff, its path is not in the PR): shown apart at the model's
    cited ``path`` and ``line`` with the ``reason``, never counted as a new finding and
    never recorded as posted, so a later run may still place it."""

    finding: Finding
    path: str
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Plan(Generic[A]):
    """Where each finding of this run goes.

    ``repeated`` are fingerprints already posted by an earlier review (open,
    resolved or dismissed threads alike); ``duplicates`` counts findings dropped
    because another finding of this run has the same fingerprint. ``p0_found``
    counts anchored P0 findings, repeated ones included, since a repeat means the
    problem is still in the code. ``unplaced`` are apart from all of these.
    """

    inline: tuple[Inline[A], ...]
    listed: tuple[Listed, ...]
    repeated: tuple[str, ...]
    duplicates: int
    p0_found: int
    unplaced: tuple[Unplaced, ...] = ()

    @property
    def posted_fingerprints(self) -> tuple[str, ...]:
        """Everything this review posts, for the review marker."""
        return tuple(i.fingerprint for i in self.inline) + tuple(x.fingerprint for x in self.listed)


def _rank(priority: int, path: str, line: int) -> tuple[int, str, int]:
    return (priority, path, line)


def plan_findings(
    anchored: Sequence[A],
    unanchored: Sequence[UnanchoredLike] = (),
    *,
    min_inline_priority: int,
    max_inline: int,
    prior: Iterable[str] = (),
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> Plan[A]:
    """Split this run's findings into inline comments and body entries.

    Ordering is by priority (P0 first), then path, then line. A finding goes
    inline when the model's confidence in it is at least ``min_confidence``, its
    priority is at or above ``min_inline_priority`` (numerically at most) and
    fewer than ``max_inline`` are inline already; anchored findings that miss a
    test (``low_confidence``, ``below_threshold``, ``over_cap``) are listed in the
    body, never dropped, so each is counted there; unanchored ones are ``unplaced``. A
    fingerprint already in ``prior``, or seen earlier in this run (the most
    severe copy is kept), is not posted.
    """
    already = frozenset(prior)
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    duplicates = 0
    p0 = 0
    inline: list[Inline[A]] = []
    listed: list[Listed] = []
    unplaced: list[Unplaced] = []

    ordered = sorted(anchored, key=lambda a: _rank(a.finding.priority, a.path, a.line))
    for item in ordered:
        fp = fingerprint_of(item.finding, item.path)
        p0 += item.finding.priority == 0
        if fp in already:
            repeated[fp] = None
            continue
        if fp in seen:
            duplicates += 1
            continue
        seen.add(fp)
        if item.finding.confidence < min_confidence:
            listed.append(Listed(item.finding, fp, item.path, item.line, "low_confidence"))
        elif item.finding.priority > min_inline_priority:
            listed.append(Listed(item.finding, fp, item.path, item.line, "below_threshold"))
        elif len(inline) >= max_inline:
            listed.append(Listed(item.finding, fp, item.path, item.line, "over_cap"))
        else:
            inline.append(Inline(item, fp))

    loose = sorted(
        unanchored, key=lambda u: _rank(u.finding.priority, u.finding.path, u.finding.line_start)
    )
    for miss in loose:
        fp = fingerprint_of(miss.finding)
        if fp in already:
            repeated[fp] = None
            continue
        if fp in seen:
            duplicates += 1
            continue
        seen.add(fp)
        finding = miss.finding
        unplaced.append(Unplaced(finding, finding.path, finding.line_start, miss.reason))

    return Plan(
        inline=tuple(inline),
        listed=tuple(listed),
        repeated=tuple(repeated),
        duplicates=duplicates,
        p0_found=p0,
        unplaced=tuple(unplaced),
    )


def plan_for(
    anchored: Sequence[A],
    unanchored: Sequence[UnanchoredLike],
    config: RepoConfig,
    prior: Iterable[str] = (),
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> Plan[A]:
    """``plan_findings`` with the thresholds of a repository's configuration and the
    operator's ``min_confidence`` (``MIN_CONFIDENCE``)."""
    return plan_findings(
        anchored,
        unanchored,
        min_inline_priority=config.min_inline_priority,
        max_inline=config.max_inline_comments,
        prior=prior,
        min_confidence=min_confidence,
    )


# -- how the check run ends ---------------------------------------------------


def check_conclusion(
    *, reviewed_segments: int, p0_found: int, gate_on_p0: bool
) -> Literal["neutral", "failure"]:
    """The check run's conclusion: ``failure`` when the repository gates on P0 and one
    was found in what was reviewed, else ``neutral``. Never ``success``: a review
    informs, it does not approve, and nothing reviewed must not look like a pass."""
    if reviewed_segments > 0 and p0_found > 0 and gate_on_p0:
        return "failure"
    return "neutral"
