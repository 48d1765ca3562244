"""Whether the author applied a suggestion: pure, over the file's text at a later head.

A suggestion replaced lines ``start_line``..``line`` of the file at the reviewed
head. It counts as applied when a later head holds the suggested lines, in
order and contiguous, starting near where they were suggested: within
``WINDOW`` lines of ``start_line``, since edits above it move it. Lines are
compared without trailing whitespace; an empty suggestion (delete these lines)
is never counted, since its absence proves nothing.
"""

from __future__ import annotations

from typing import Final

WINDOW: Final = 30


def suggestion_applied(
    content: str, start_line: int, suggestion: str, *, window: int = WINDOW
) -> bool:
    """True when ``content`` holds ``suggestion``'s lines as a block starting within
    ``window`` lines of ``start_line`` (1-based)."""
    wanted = [line.rstrip() for line in suggestion.splitlines()]
    if not any(wanted):
        return False
    lines = [line.rstrip() for line in content.splitlines()]
    first = max(0, start_line - 1 - window)
    last = min(len(lines) - len(wanted), start_line - 1 + window)
    return any(lines[i : i + len(wanted)] == wanted for i in range(first, last + 1))
