"""The values a review plan is made of: options, segments, what was left out, totals.

Frozen records only; ``workers.diff.segment.plan_review`` builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from workers.diff.filters import Skipped
from workers.diff.patch import FileDiff

DEFAULT_SEGMENT_TOKENS: Final = 12_000
DEFAULT_TOTAL_TOKENS: Final = 600_000


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What to review and how much. Token budgets count the rendered diff body only."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    segment_tokens: int = DEFAULT_SEGMENT_TOKENS
    total_tokens: int = DEFAULT_TOTAL_TOKENS
    context: bool = True


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """The part of one file a segment covers: hunk indices, and for a split hunk its lines."""

    path: str
    status: str
    hunks: tuple[int, ...]
    changed_lines: int
    line_range: tuple[int, int] | None = None  # (first, last) line index within a split hunk


@dataclass(frozen=True, slots=True)
class Segment:
    """One prompt's worth of diff."""

    index: int
    files: tuple[SegmentFile, ...]
    text: str
    tokens: int
    changed_lines: int
    context_lines: int

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))


@dataclass(frozen=True, slots=True)
class NotReviewed:
    segment: Segment
    reason: str


@dataclass(frozen=True, slots=True)
class Totals:
    files: int
    reviewable_files: int
    changed_lines: int
    covered_changed_lines: int
    diff_tokens: int
    prompt_tokens: int

    @property
    def coverage(self) -> float:
        return 1.0 if self.changed_lines == 0 else self.covered_changed_lines / self.changed_lines


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    segments: tuple[Segment, ...]
    skipped: tuple[Skipped, ...]
    not_reviewed: tuple[NotReviewed, ...]
    totals: Totals
    files: Mapping[str, FileDiff] = field(default_factory=dict, compare=False, repr=False)
