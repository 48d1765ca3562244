"""The values of related code: one item, one segment's items, and their prompt text.

Pure. An item's ``text`` is what the prompt shows: a header line with the path,
the line range, the kind and the symbol, then the lines numbered as in the
file. ``enclosing`` items name the definitions that hold the segment's changed
lines; the diff already shows their signatures, so they cost no tokens and
have no text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from workers.diff import tokens

ContextKind = Literal["enclosing", "definition", "caller", "test"]
MAX_LINE_CHARS: Final = 240

PREAMBLE: Final = (
    "Related code from the repository at the reviewed head, for reference only: it is "
    "not part of the diff and cannot be commented on. Each item says why it is here: "
    "a definition the changed lines use, a caller of a function whose signature or "
    "return changed, or a test that exercises a changed function."
)
_LABEL: Final = {
    "definition": "definition of",
    "caller": "call of",
    "test": "test using",
    "enclosing": "enclosing",
}


@dataclass(frozen=True, slots=True)
class ContextItem:
    path: str
    start_line: int
    end_line: int
    kind: ContextKind
    symbol: str
    text: str = ""
    tokens: int = 0

    @classmethod
    def build(
        cls,
        path: str,
        lines: Sequence[str],
        start: int,
        end: int,
        kind: ContextKind,
        symbol: str,
    ) -> ContextItem:
        """An item showing ``lines[start-1:end]`` (1-based, inclusive) of ``path``."""
        end = min(end, len(lines))
        body = "\n".join(f"{n:>6}  {_clip(lines[n - 1].rstrip())}" for n in range(start, end + 1))
        text = f"{path}:{start}-{end} ({_LABEL[kind]} {symbol})\n{body}"
        return cls(path, start, end, kind, symbol, text, tokens.count(text) + 1)

    def covers(self, path: str, line: int) -> bool:
        return self.path == path and self.start_line <= line <= self.end_line

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "kind": self.kind,
            "symbol": self.symbol,
        }


@dataclass(frozen=True, slots=True)
class SegmentContext:
    """The related code chosen for one segment; ``left_out`` items did not fit the budget."""

    segment: int
    items: tuple[ContextItem, ...]
    left_out: int = 0

    @property
    def tokens(self) -> int:
        return sum(item.tokens for item in self.items)

    def render(self) -> str:
        """The prompt's context block body; empty when there is nothing to show."""
        shown = [item.text for item in self.items if item.text]
        if not shown:
            return ""
        return PREAMBLE + "\n\n" + "\n\n".join(shown) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": [item.to_dict() for item in self.items],
            "context_tokens": self.tokens,
            "context_left_out": self.left_out,
        }


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"
