"""Anchor the model's findings to lines GitHub will accept, or refuse to.

For each finding: the path must be a file of the diff with hunks; the quote is
looked for in each hunk's RIGHT-side lines (new-file numbers) with
``workers.edits.locate``, preferring exact over whitespace-normalised over
fuzzy matches, then the hunk closest to the cited ``line_start``. The anchor
is ``line`` = last matched line and ``start_line`` = first (omitted for one
line), side RIGHT, all in one hunk. GitHub rejects a whole review for one bad
comment, so anything not provably inside one hunk goes to ``unanchored`` with
a reason for the review summary.

A suggestion is kept only when the quote matched exactly, the head file is
known, the replacement changes something, and a Python file that parsed
before still parses after; otherwise the comment stays and the suggestion is
dropped, with ``suggestion_note`` saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from workers.diff.patch import FileDiff, Hunk
from workers.edits import Match, is_python, locate, python_parses, replace_lines, split_lines
from workers.findings import Finding

_RANK = {"exact": 0, "whitespace": 1, "fuzzy": 2}


@dataclass(frozen=True, slots=True)
class AnchoredFinding:
    finding: Finding
    path: str
    line: int
    start_line: int | None
    side: Literal["RIGHT"] = "RIGHT"
    suggestion: str | None = None
    match: Literal["exact", "whitespace", "fuzzy"] = "exact"
    suggestion_note: str | None = None


@dataclass(frozen=True, slots=True)
class Unanchored:
    finding: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class AnchorResult:
    anchored: tuple[AnchoredFinding, ...]
    unanchored: tuple[Unanchored, ...]


def _normalise_path(path: str) -> str:
    path = path.strip().lstrip("/")
    for prefix in ("./", "b/", "a/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def _right_lines(hunk: Hunk) -> list[str]:
    return [line.text for line in hunk.lines if line.kind != "-"]


def _find(finding: Finding, diff: FileDiff, head: list[str] | None) -> Match | None:
    """Best match over the hunks; each hunk's RIGHT lines are contiguous new-file lines."""
    best: tuple[int, int, int, Match] | None = None
    for hunk in diff.hunks:
        if hunk.new_len == 0:
            continue
        local = _right_lines(hunk)
        # Line numbers inside the hunk's own text, shifted back to file numbers below.
        found = locate(local, finding.quote, finding.line_start - hunk.new_start + 1)
        if found is None:
            continue
        match = Match(
            found.start + hunk.new_start - 1,
            found.end + hunk.new_start - 1,
            found.kind,
            found.score,
        )
        if (
            head is not None
            and head[match.start - 1 : match.end] != local[found.start - 1 : found.end]
        ):
            continue  # the diff and the head file disagree: trust neither here
        key = (_RANK[match.kind], abs(match.start - finding.line_start), match.start, match)
        if best is None or key[:3] < best[:3]:
            best = key
    return None if best is None else best[3]


def _suggestion(
    finding: Finding, path: str, match: Match, content: str | None
) -> tuple[str | None, str | None]:
    if finding.suggestion is None:
        return None, None
    if match.kind != "exact":
        return None, f"quote matched only {match.kind}; suggestion not applied"
    if content is None:
        return None, "head file unavailable; suggestion not verified"
    lines = split_lines(content)
    if split_lines(finding.suggestion) == lines[match.start - 1 : match.end]:
        return None, "suggestion changes nothing"
    if is_python(path):
        result = replace_lines(content, match.start, match.end, finding.suggestion)
        if python_parses(content) and not python_parses(result):
            return None, "suggestion leaves the Python file unparseable"
    return finding.suggestion, None


def anchor_findings(
    findings: Sequence[Finding],
    files: Sequence[FileDiff],
    head_contents: Mapping[str, str],
) -> AnchorResult:
    """Split findings into ones with a valid RIGHT-side anchor and ones for the summary."""
    by_path = {f.path: f for f in files}
    anchored: list[AnchoredFinding] = []
    unanchored: list[Unanchored] = []
    for finding in findings:
        path = finding.path if finding.path in by_path else _normalise_path(finding.path)
        diff = by_path.get(path)
        if diff is None:
            unanchored.append(Unanchored(finding, "file is not part of the diff"))
            continue
        if not diff.hunks:
            unanchored.append(Unanchored(finding, "file has no lines to comment on"))
            continue
        if not finding.quote.strip():
            unanchored.append(Unanchored(finding, "finding quotes no code"))
            continue
        content = head_contents.get(path)
        head = split_lines(content) if content is not None else None
        match = _find(finding, diff, head)
        if match is None:
            unanchored.append(Unanchored(finding, "quoted lines not found in the diff"))
            continue
        if not diff.same_hunk(match.start, match.end, "RIGHT"):
            unanchored.append(Unanchored(finding, "quoted lines span more than one hunk"))
            continue
        suggestion, note = _suggestion(finding, path, match, content)
        anchored.append(
            AnchoredFinding(
                finding=finding,
                path=path,
                line=match.end,
                start_line=match.start if match.end > match.start else None,
                suggestion=suggestion,
                match=match.kind,
                suggestion_note=note,
            )
        )
    return AnchorResult(tuple(anchored), tuple(unanchored))
