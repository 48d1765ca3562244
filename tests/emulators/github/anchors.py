"""Where a review comment may sit on a pull request's diff, by GitHub's rules.

A comment names its place either by ``line`` (with ``side`` and optionally
``start_line``/``start_side``) or by the deprecated ``position``: the count of
lines below the file's first ``@@`` header, continuing through later hunks
(their headers count but cannot be commented on). GitHub refuses a comment that
gives both, and a position outside the file's patch.
"""

from __future__ import annotations

import re
from typing import Any

from .gitrepo import FileDiff

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
LINE_KEYS = ("line", "start_line")


def _walk(f: FileDiff) -> list[tuple[int, str, int, int]]:
    """(position, first character, old line, new line) of every non-header patch line."""
    out: list[tuple[int, str, int, int]] = []
    old = new = 0
    for index, text in enumerate((f.patch or "").split("\n")):
        header = _HUNK.match(text)
        if header:
            old, new = int(header.group(1)), int(header.group(2))
        elif text[:1] in ("-", "+", " "):
            out.append((index, text[:1], old, new))
            old += text[:1] != "+"
            new += text[:1] != "-"
    return out


def positions(f: FileDiff) -> dict[int, tuple[str, int]]:
    """Every commentable diff position of ``f`` -> (side, line number on that side)."""
    return {i: ("LEFT", old) if kind == "-" else ("RIGHT", new) for i, kind, old, new in _walk(f)}


def position_of(f: FileDiff, side: str, line: int) -> int | None:
    """The diff position of ``line`` on ``side`` (what GitHub reports as ``position``)."""
    for index, kind, old, new in _walk(f):
        if (side == "LEFT" and kind != "+" and old == line) or (
            side == "RIGHT" and kind != "-" and new == line
        ):
            return index
    return None


def commentable(files: tuple[FileDiff, ...], c: dict[str, Any]) -> str | None:
    """GitHub's reason for refusing draft comment ``c`` on this diff, or None."""
    match = [f for f in files if f.filename == c["path"]]
    if not match:
        return "Pull request review thread path is invalid"
    hunks = match[0].hunks
    if not hunks:
        return "Pull request review thread diff hunk can't be blank"
    if "position" in c:
        if any(key in c for key in LINE_KEYS):
            return "Pull request review thread position and line cannot both be given"
        position = c["position"]
        if not isinstance(position, int) or position not in positions(match[0]):
            return "Pull request review thread position is invalid"
        return None
    side = c.get("side", "RIGHT")
    if side not in ("LEFT", "RIGHT"):
        return "Pull request review thread side is invalid"
    line = c.get("line")
    if not isinstance(line, int):
        return "Line could not be resolved"
    lines_of = (lambda h: h.left) if side == "LEFT" else (lambda h: h.right)
    hunk = next((h for h in hunks if line in lines_of(h)), None)
    if hunk is None:
        return "Pull request review thread line must be part of the diff"
    if "start_line" in c:
        start_side = c.get("start_side", side)
        start_lines = hunk.left if start_side == "LEFT" else hunk.right
        if c["start_line"] not in start_lines:
            return (
                "Pull request review thread start line must be part of the same hunk as the line."
            )
        if start_side == side and c["start_line"] >= line:
            return "Pull request review thread start line must precede the end line."
    return None


def anchor(f: FileDiff | None, c: dict[str, Any]) -> tuple[int | None, str, int | None]:
    """(position, side, line) of an accepted comment, each resolved from the other form."""
    if "position" in c:
        side, line = positions(f)[c["position"]] if f else ("RIGHT", None)
        return c["position"], side, line
    side = c.get("side", "RIGHT")
    return (position_of(f, side, c["line"]) if f else None), side, c.get("line")
