"""What one run reviewed and left out, and the review that says so. Pure.

``summarize_run`` gathers the facts the renderer shows: files, lines and
segments reviewed, tokens and cost, and everything not reviewed with a typed
``NotReviewedKind``. Skipped files get theirs from the diff engine's typed
``SkipKind`` (``skip_kind``); failed segments from their status.
``compose_review`` decides where each finding goes (inline, in the body, not
again) and renders the draft review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal

from workers.diff import AnchoredFinding, AnchorResult, ReviewPlan, Skipped
from workers.diff.filters import SkipKind
from workers.github.models import DraftComment
from workers.model.wire import Usage
from workers.review.config import RepoConfig
from workers.review.outcome import DraftReview, SegmentResult
from workers.review.progress import SegmentStatus
from workers.review.render import (
    CostLine,
    NotReviewed,
    NotReviewedKind,
    ReviewSummary,
    render_inline,
    render_review_body,
)
from workers.review.select import (
    DEFAULT_MIN_CONFIDENCE,
    Inline,
    Plan,
    ReviewScope,
    plan_for,
)
from workers.review.split import coverage

GapKind = Literal["filtered", "no_patch", "too_large", "quiet", "other"]
"""How a skipped file shows in the review: ``quiet`` ones (deleted, no textual change) are
not worth a line; ``other`` ones are listed with their reason."""

# Keyed on the diff engine's typed ``SkipKind``; kinds not listed are ``other``.
_GAP_KINDS: Final[Mapping[SkipKind, GapKind]] = {
    "excluded": "filtered",
    "not_included": "filtered",
    "no_patch": "no_patch",
    "too_large": "too_large",
    "deleted": "quiet",
    "no_changes": "quiet",
}
_FAILED_KINDS: Final[Mapping[SegmentStatus, NotReviewedKind]] = {
    "budget_exceeded": "budget",
    "incomplete": "incomplete",
}


def skip_kind(skipped: Skipped) -> GapKind:
    """How the review shows a file the diff engine left out."""
    return _GAP_KINDS.get(skipped.kind, "other")


def not_reviewed(plan: ReviewPlan, results: Sequence[SegmentResult]) -> tuple[NotReviewed, ...]:
    """Everything this run left out: skipped files, segments beyond the budget, and the
    segments (or halves) the model did not answer, with their lines."""
    gaps: list[NotReviewed] = []
    for skipped in plan.skipped:
        kind = skip_kind(skipped)
        if kind == "quiet":
            continue
        detail = skipped.reason if kind == "other" else None
        gaps.append(NotReviewed(skipped.path, kind, detail=detail))
    for left in plan.not_reviewed:
        for path, lines in coverage(left.segment, plan.files):
            gaps.append(NotReviewed(path, "budget", lines=lines, detail=left.reason))
    for failed in (leaf for r in results for leaf in r.leaves if not leaf.reviewed):
        detail = (failed.error or failed.status)[:200]
        failed_kind = _FAILED_KINDS.get(failed.status, "model_error")
        covered = failed.coverage or tuple((path, None) for path in failed.segment.paths)
        for path, lines in covered:
            gaps.append(NotReviewed(path, failed_kind, lines=lines, detail=detail))
    return tuple(gaps)


def summarize_run(
    *,
    head_sha: str,
    base_sha: str,
    scope: ReviewScope,
    plan: ReviewPlan,
    results: Sequence[SegmentResult],
    model: str,
    usage: Usage,
    cost_usd: Decimal,
) -> ReviewSummary:
    """The facts of one run as the renderer shows them, including everything left out."""
    leaves = [leaf for result in results for leaf in result.leaves]
    reviewed = [r for r in leaves if r.reviewed]
    files = {part.path for r in reviewed for part in r.segment.files}
    return ReviewSummary(
        head_sha=head_sha,
        base_sha=base_sha,
        model=model,
        files_reviewed=len(files),
        lines_reviewed=sum(r.segment.changed_lines for r in reviewed),
        segments_reviewed=len(reviewed),
        segments_total=len(leaves) + len(plan.not_reviewed),
        usage=CostLine(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=float(cost_usd),
        ),
        not_reviewed=not_reviewed(plan, results),
        scope_note=scope.reason,
    )


def compose_review(
    summary: ReviewSummary,
    anchors: AnchorResult,
    config: RepoConfig,
    already_posted: frozenset[str],
    host: str,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> tuple[Plan[AnchoredFinding], DraftReview]:
    """Where each finding goes and the review that says so, leaving out every
    fingerprint in ``already_posted``; findings below ``min_confidence`` go in the body."""
    decided = plan_for(
        anchors.anchored,
        anchors.unanchored,
        config,
        prior=already_posted,
        min_confidence=min_confidence,
    )
    draft = DraftReview(
        commit_id=summary.head_sha,
        body=render_review_body(summary, decided, allowed_host=host),
        comments=tuple(
            draft_comment(item, render_inline(item, allowed_host=host)) for item in decided.inline
        ),
    )
    return decided, draft


def draft_comment(item: Inline[AnchoredFinding], body: str) -> DraftComment:
    """The inline comment for a planned finding, on the lines the anchor engine verified."""
    anchored = item.anchored
    start = anchored.start_line if anchored.start_line != anchored.line else None
    return DraftComment(
        path=anchored.path,
        line=anchored.line,
        body=body,
        side=anchored.side,
        start_line=start,
        start_side=anchored.side if start is not None else None,
    )
