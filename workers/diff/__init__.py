"""The diff engine: parse, filter, segment, and anchor findings. Pure code, no I/O."""

from workers.diff.anchor import AnchoredFinding, AnchorResult, Unanchored, anchor_findings
from workers.diff.filters import SkipKind, Skipped
from workers.diff.globs import PathRules
from workers.diff.patch import DiffLine, FileDiff, Hunk, parse_git_diff, parse_patch
from workers.diff.plans import (
    NotReviewed,
    PlanOptions,
    ReviewPlan,
    Segment,
    SegmentFile,
    Totals,
)
from workers.diff.segment import plan_review

__all__ = [
    "AnchorResult",
    "AnchoredFinding",
    "DiffLine",
    "FileDiff",
    "Hunk",
    "NotReviewed",
    "PathRules",
    "PlanOptions",
    "ReviewPlan",
    "Segment",
    "SegmentFile",
    "SkipKind",
    "Skipped",
    "Totals",
    "Unanchored",
    "anchor_findings",
    "parse_git_diff",
    "parse_patch",
    "plan_review",
]
