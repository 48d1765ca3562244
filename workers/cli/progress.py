"""The progress bar ``review`` and ``review-diff`` draw over segments on a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workers.review.progress import NO_PROGRESS, SegmentStatus
from workers.review.progress import Progress as PipelineProgress


class _Bar:
    """The pipeline's ``Progress`` drawn with rich."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("reading", total=None)
        self._total = 0

    def stage(self, name: str) -> None:
        self._progress.update(self._task, description=name)

    def segments_planned(self, total: int) -> None:
        self._total = total
        self._progress.update(self._task, total=total, completed=0)

    def segment_done(self, label: str, status: SegmentStatus) -> None:
        self._progress.advance(self._task)

    def segments_added(self, count: int) -> None:
        self._total += count
        self._progress.update(self._task, total=self._total)


@contextmanager
def segment_progress() -> Iterator[PipelineProgress]:
    """A transient bar over segments on stderr when it is a terminal; nothing otherwise."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield NO_PROGRESS
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        yield _Bar(bar)
