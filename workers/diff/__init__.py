"""The diff engine: parse, filter, segment, and anchor findings. Pure code, no I/O."""

from workers.diff.anchor import AnchoredFinding, AnchorResult, Unanchored, anchor_findings
from workers.diff.patch import DiffLine, FileDiff, Hunk, parse_git_diff, parse_patch
from workers.diff.segment import (
    NotReviewed,
    PlanOptions,
    ReviewPlan,
    Segment,
    SegmentFile,
    Skipped,
    Totals,
    plan_review,
)

__all__ = [
    "AnchorResult",
    "AnchoredFinding",
    "DiffLine",
    "FileDiff",
    "Hunk",
    "NotReviewed",
    "PlanOptions",
    "ReviewPlan",
    "Segment",
    "SegmentFile",
    "Skipped",
    "Totals",
    "Unanchored",
    "anchor_findings",
    "parse_git_diff",
    "parse_patch",
    "plan_review",
]
