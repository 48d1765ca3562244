"""Splitting a segment whose answer did not fit, and saying which lines a segment covers.

When the model's answer for a segment is cut off at its output limit (status
``incomplete``, already retried once with a doubled limit by the model
client), the pipeline asks for two smaller reviews instead: ``split_segment``
restricts the diff to exactly the segment's hunks (or its piece of one hunk)
and plans that again with about half the token budget, so the halves are
rendered by the diff engine like any other segment and together cover the same
changed lines. A half is never split again: what still does not fit is reported
as not reviewed, with its lines (``coverage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from workers.diff import FileDiff, Hunk, PlanOptions, Segment, plan_review

LineRange = tuple[int, int]
Coverage = tuple[tuple[str, LineRange | None], ...]
"""Per path, in segment order: the new-file lines a segment covers, ``None`` for all
of the file's changes."""

_BUDGET_STEPS = 4


@dataclass(frozen=True, slots=True)
class Half:
    """One of the smaller segments a split gives, with the lines it covers."""

    segment: Segment
    coverage: Coverage


def coverage(
    segment: Segment,
    files: Mapping[str, FileDiff],
    whole: Mapping[str, FileDiff] | None = None,
) -> Coverage:
    """The new-file line range of each file part of ``segment``.

    ``files`` are the diffs the segment's hunk indices refer to; ``whole`` the
    pull request's diffs, when ``files`` may be parts of them (a split's
    restricted diffs). A part that covers every hunk of the whole file diff
    gets ``None``. A part of deleted lines only gets the line they were deleted
    at.
    """
    whole = files if whole is None else whole
    ranges: dict[str, LineRange | None] = {}
    for part in segment.files:
        diff = files.get(part.path)
        if diff is None:
            ranges[part.path] = None
            continue
        full = whole.get(part.path)
        everything = (
            full is not None
            and part.line_range is None
            and len(part.hunks) == len(diff.hunks)
            and diff.hunks == full.hunks
        )
        span = None if everything else _span(diff, part.hunks, part.line_range)
        if part.path in ranges:
            earlier = ranges[part.path]
            span = None if earlier is None or span is None else _join(earlier, span)
        ranges[part.path] = span
    return tuple(ranges.items())


def split_segment(
    segment: Segment,
    files: Mapping[str, FileDiff],
    contents: Mapping[str, str],
    options: PlanOptions,
) -> tuple[Half, ...]:
    """Two segments that together cover exactly ``segment``'s changed lines, or ``()``.

    ``()`` when it cannot be split (a single line, a file diff that is not in
    ``files``) or no budget between a half and the whole gives exactly two
    pieces covering everything. Planning is tried with at most a few budgets.
    """
    restricted: dict[str, FileDiff] = {}
    for part in segment.files:
        diff = files.get(part.path)
        if diff is None or any(not 0 <= i < len(diff.hunks) for i in part.hunks):
            return ()
        hunks = [diff.hunks[i] for i in part.hunks]
        if part.line_range is not None and len(hunks) == 1:
            first, last = part.line_range
            hunks = [_slice(hunks[0], first, last)]
        earlier = restricted.get(part.path)
        restricted[part.path] = FileDiff.build(
            diff.path,
            diff.status,
            (earlier.hunks if earlier is not None else ()) + tuple(hunks),
            old_path=diff.old_path,
            binary=diff.binary,
            old_mode=diff.old_mode,
            new_mode=diff.new_mode,
            similarity=diff.similarity,
        )
    pieces = list(restricted.values())
    step = max(1, segment.tokens // (2 * _BUDGET_STEPS))
    budget = max(1, -(-segment.tokens // 2))
    for _ in range(_BUDGET_STEPS):
        if budget >= segment.tokens:
            break
        plan = plan_review(
            pieces,
            contents,
            replace(
                options,
                include=(),
                exclude=(),
                segment_tokens=budget,
                total_tokens=4 * segment.tokens + 1,
            ),
        )
        covered = sum(s.changed_lines for s in plan.segments)
        if len(plan.segments) < 2:
            return ()  # nothing smaller exists (one line, or one line over any budget)
        if len(plan.segments) == 2 and covered == segment.changed_lines:
            return tuple(
                Half(replace(s, index=segment.index), coverage(s, restricted, files))
                for s in plan.segments
            )
        budget += step
    return ()


def _slice(hunk: Hunk, first: int, last: int) -> Hunk:
    """Lines ``first``..``last`` (indices, inclusive) of ``hunk`` as a hunk of their own."""
    before = hunk.lines[:first]
    lines = hunk.lines[first : last + 1]
    new_start = next(
        (ln.new for ln in lines if ln.new is not None),
        hunk.new_start + sum(ln.kind != "-" for ln in before),
    )
    old_start = next(
        (ln.old for ln in lines if ln.old is not None),
        hunk.old_start + sum(ln.kind != "+" for ln in before),
    )
    return Hunk(
        old_start=old_start,
        old_len=sum(ln.kind != "+" for ln in lines),
        new_start=new_start,
        new_len=sum(ln.kind != "-" for ln in lines),
        lines=tuple(lines),
        section=hunk.section if first == 0 else "",
    )


def _span(diff: FileDiff, hunk_indices: tuple[int, ...], line_range: LineRange | None) -> LineRange:
    numbers: list[int] = []
    anchors: list[int] = []
    for i in hunk_indices:
        if not 0 <= i < len(diff.hunks):
            continue
        hunk = diff.hunks[i]
        lines = hunk.lines
        if line_range is not None and len(hunk_indices) == 1:
            lines = lines[line_range[0] : line_range[1] + 1]
        numbers += [ln.new for ln in lines if ln.new is not None]
        anchors.append(max(1, hunk.new_start))
    if numbers:
        return min(numbers), max(numbers)
    at = min(anchors) if anchors else 1
    return at, at


def _join(a: LineRange, b: LineRange) -> LineRange:
    return min(a[0], b[0]), max(a[1], b[1])
