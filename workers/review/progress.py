"""Progress of one review, for whoever watches it (the CLI's progress bar, logs).

The pipeline reports through a ``Progress`` it is given; the worker passes
``NO_PROGRESS``. Callbacks run on the pipeline's threads (segments are reviewed
concurrently) and must be quick and thread-safe.
"""

from __future__ import annotations

from typing import Literal, Protocol

SegmentStatus = Literal["ok", "cached", "failed", "budget_exceeded", "incomplete"]


class Progress(Protocol):
    def stage(self, name: str) -> None:
        """A step of the flow began (``reading``, ``reviewing``, ``posting``...)."""

    def segments_planned(self, total: int) -> None:
        """``total`` segments will be sent to the model (or served from the cache)."""

    def segment_done(self, label: str, status: SegmentStatus) -> None:
        """One segment finished."""

    def segments_added(self, count: int) -> None:
        """``count`` more segments will be sent: the halves of one whose answer was cut off
        (that one was reported ``incomplete`` already)."""


class _NoProgress:
    def stage(self, name: str) -> None:
        return None

    def segments_planned(self, total: int) -> None:
        return None

    def segment_done(self, label: str, status: SegmentStatus) -> None:
        return None

    def segments_added(self, count: int) -> None:
        return None


NO_PROGRESS: Progress = _NoProgress()
