"""Splitting a segment whose answer was cut off: two halves, the same lines, their ranges."""

from __future__ import annotations

import re

from workers.diff import FileDiff, PlanOptions, Segment, parse_patch, plan_review
from workers.review.split import coverage, split_segment


def added(path: str, lines: list[str]) -> FileDiff:
    body = "".join(f"+{line}\n" for line in lines)
    return parse_patch(path, f"@@ -0,0 +1,{len(lines)} @@\n{body}", status="added")


def cited(segment: Segment) -> set[tuple[str, int]]:
    """(path, new line) of every numbered diff line the segment shows."""
    found: set[tuple[str, int]] = set()
    path = ""
    for line in segment.text.splitlines():
        if line.startswith("=== "):
            path = line[4:].split(" (")[0]
            continue
        match = re.match(r"^(\d+)[+ ]", line)
        if match:
            found.add((path, int(match[1])))
    return found


def one_segment(files: list[FileDiff]) -> tuple[Segment, dict[str, FileDiff]]:
    plan = plan_review(files, {}, PlanOptions())
    (segment,) = plan.segments
    return segment, dict(plan.files)


def test_two_files_split_into_one_each_covering_the_same_lines() -> None:
    a = added("a.py", [f"A_{i} = {i}" for i in range(30)])
    b = added("b.py", [f"B_{i} = {i}" for i in range(30)])
    segment, files = one_segment([a, b])

    halves = split_segment(segment, files, {}, PlanOptions())

    assert len(halves) == 2
    assert [h.segment.paths for h in halves] == [("a.py",), ("b.py",)]
    assert sum(h.segment.changed_lines for h in halves) == segment.changed_lines
    assert cited(halves[0].segment) | cited(halves[1].segment) == cited(segment)
    assert all(h.segment.index == segment.index for h in halves)
    # Each half holds a whole file: no line range needed to say what it covers.
    assert [h.coverage for h in halves] == [(("a.py", None),), (("b.py", None),)]


def test_one_long_hunk_splits_into_two_line_ranges_without_gap_or_overlap() -> None:
    lines = [f"value_{i} = compute({i})" for i in range(200)]
    segment, files = one_segment([added("big.py", lines)])

    halves = split_segment(segment, files, {}, PlanOptions())

    assert len(halves) == 2
    first, second = (h.coverage for h in halves)
    ((path1, range1),) = first
    ((path2, range2),) = second
    assert path1 == path2 == "big.py"
    assert range1 is not None
    assert range2 is not None
    assert range1[0] == 1
    assert range2[1] == 200
    assert range2[0] == range1[1] + 1
    assert cited(halves[0].segment).isdisjoint(cited(halves[1].segment))
    assert cited(halves[0].segment) | cited(halves[1].segment) == cited(segment)
    assert all(h.segment.tokens < segment.tokens for h in halves)


def test_a_half_of_a_split_hunk_can_itself_be_split() -> None:
    lines = [f"value_{i} = compute({i})" for i in range(200)]
    segment, files = one_segment([added("big.py", lines)])
    first, _ = split_segment(segment, files, {}, PlanOptions())

    quarters = split_segment(first.segment, files, {}, PlanOptions())

    assert len(quarters) == 2
    assert cited(quarters[0].segment) | cited(quarters[1].segment) == cited(first.segment)


def test_a_single_line_cannot_be_split() -> None:
    segment, files = one_segment([added("one.py", ["x = 1"])])

    assert split_segment(segment, files, {}, PlanOptions()) == ()


def test_coverage_names_the_lines_of_a_partial_file_and_none_for_a_whole_one() -> None:
    patch = "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -20,3 +20,4 @@\n t\n+u\n v\n w\n"
    modified = parse_patch("m.py", patch, status="modified")
    plan = plan_review([modified], {}, PlanOptions())
    (segment,) = plan.segments
    assert coverage(segment, plan.files) == (("m.py", None),)

    halves = split_segment(segment, plan.files, {}, PlanOptions())

    assert [h.coverage for h in halves] == [(("m.py", (1, 3)),), (("m.py", (20, 23)),)]
