"""Find the function and class that enclose a line of a file.

Python files are read with ``ast``; anything else (and Python that does not
parse) with an indentation heuristic: walking up from the line, each line with
less indentation than everything below it that looks like a block opener
(ends with ``{`` or ``:``, or starts with a declaration keyword) is a scope.
The result is the chain of signature lines, outermost first, as
``(line_number, text)`` with 1-based new-file numbers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Final

Scope = tuple[int, str]

_MAX_DEPTH: Final = 3
_MAX_WALK: Final = 2000  # lines scanned upward by the heuristic
_OPENER: Final = re.compile(
    r"^\s*(?:export\s+|pub(?:\([^)]*\))?\s+|public\s+|private\s+|protected\s+|static\s+|"
    r"async\s+|abstract\s+|final\s+|override\s+|inline\s+|virtual\s+)*"
    r"(?:def|class|function|func|fn|impl|struct|enum|trait|interface|module|namespace|"
    r"object|package|sub|macro_rules!|type|record|union|describe|it|test|context)\b"
)
_NOT_SCOPE: Final = re.compile(r"^\s*(?:[})\]#]|//|/\*|\*|--|else\b|elif\b|except\b|finally\b)")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    line: int


@dataclass(frozen=True, slots=True)
class FileScopes:
    """Enclosing-scope lookup for one file's head content."""

    lines: tuple[str, ...]
    spans: tuple[_Span, ...] | None  # None: use the heuristic

    @classmethod
    def from_content(cls, path: str, content: str) -> FileScopes:
        lines = tuple(line.rstrip("\r") for line in content.split("\n"))
        spans: tuple[_Span, ...] | None = None
        if path.endswith((".py", ".pyi")):
            spans = _python_spans(content)
        return cls(lines, spans)

    def enclosing(self, line: int) -> tuple[Scope, ...]:
        """Signature lines of the scopes containing ``line``, outermost first."""
        if not 1 <= line <= len(self.lines):
            return ()
        if self.spans is not None:
            found = [s for s in self.spans if s.start <= line <= s.end and s.line != line]
            found.sort(key=lambda s: s.start)
            return tuple((s.line, self.lines[s.line - 1]) for s in found[-_MAX_DEPTH:])
        return self._heuristic(line)

    def _heuristic(self, line: int) -> tuple[Scope, ...]:
        chain: list[Scope] = []
        limit = _indent(self.lines[line - 1]) if self.lines[line - 1].strip() else None
        stop = max(0, line - 1 - _MAX_WALK)
        for index in range(line - 2, stop - 1, -1):
            text = self.lines[index]
            if not text.strip():
                continue
            indent = _indent(text)
            if limit is not None and indent >= limit:
                continue
            limit = indent
            stripped = text.rstrip()
            if not _NOT_SCOPE.match(text) and (
                _OPENER.match(text) or stripped.endswith(("{", ":"))
            ):
                chain.append((index + 1, text))
                if len(chain) == _MAX_DEPTH:
                    break
            if indent == 0:
                break
        chain.reverse()
        return tuple(chain)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _python_spans(content: str) -> tuple[_Span, ...] | None:
    try:
        tree = ast.parse(content)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    spans = [
        _Span(node.lineno, node.end_lineno or node.lineno, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    spans.sort(key=lambda s: (s.start, -s.end))
    return tuple(spans)
