"""Head contents the review can know without asking GitHub.

A file the pull request adds is whole in its patch: every line is an added
line, numbered from 1. Its head text is rebuilt from the patch instead of
being fetched, which saves one contents read per added file. Only a patch that
provably holds the whole file qualifies (one hunk, new lines 1..n without a
gap, nothing deleted); anything else is fetched as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.diff import FileDiff


def added_file_text(diff: FileDiff) -> str | None:
    """The head text of a file the PR adds, rebuilt from its patch.

    ``None`` when the diff is not an added file or its patch may not hold the
    whole file (several hunks, a gap in the numbering, a malformed or binary
    diff); the caller then reads the file from GitHub. Line ends are restored
    as the patch records them (``\\r\\n`` for CRLF lines, none after a line
    marked "No newline at end of file").
    """
    if not diff.is_new or diff.binary or diff.malformed is not None or len(diff.hunks) != 1:
        return None
    hunk = diff.hunks[0]
    lines = hunk.lines
    if not lines or hunk.new_start != 1 or hunk.new_len != len(lines):
        return None
    parts: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.kind != "+" or line.new != number:
            return None
        if line.no_newline and number != len(lines):
            return None
        end = "" if line.no_newline else "\r\n" if line.crlf else "\n"
        parts.append(line.text + end)
    return "".join(parts)


def known_heads(diffs: Iterable[FileDiff], max_bytes: int) -> dict[str, str]:
    """Head texts of the added files whose patch holds them whole, within ``max_bytes``.

    The size limit is the one a fetched file is held to, so a file is treated
    the same whichever way its text was obtained.
    """
    known: dict[str, str] = {}
    for diff in diffs:
        text = added_file_text(diff)
        if text is not None and len(text.encode("utf-8")) <= max_bytes:
            known[diff.path] = text
    return known
