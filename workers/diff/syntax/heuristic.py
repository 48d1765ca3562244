"""Find the function and class that enclose a line of a file, by indentation.

The fallback of ``workers.diff.syntax`` for files without a grammar, files
too large to parse, and lines inside a region the parser could not make sense of.

Walking up from the line, each non-blank line indented less than everything
seen so far closes in on the enclosing blocks; those that look like a block
opener are scopes. The result is the chain of signature lines, outermost
first, as ``(line_number, text)`` with 1-based new-file numbers, at most
``MAX_DEPTH`` deep.

The scan reads only the lines above the one asked about, so its cost is the
distance to the outermost scope, not the size of the file. For Python the
openers are ``def``, ``async def`` and ``class``; comments and lines that
start inside brackets or strings (closing brackets, quotes) do not count as
blocks, so multi-line signatures and calls keep their ``def`` line. Other
programming languages (by file extension) use keywords or a trailing ``{`` or
``:``; prose, markup and data files get no scopes.
The scan can be misled by text at a lower indentation inside a multi-line
string; the answer is orientation for the reader, never an anchor.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Final

Scope = tuple[int, str]
"""``(line_number, signature_text)``: 1-based line of a scope's signature and its text."""

MAX_DEPTH: Final = 3
_MAX_WALK: Final = 20_000  # lines scanned upward
_OPENER: Final = re.compile(
    r"^\s*(?:export\s+|pub(?:\([^)]*\))?\s+|public\s+|private\s+|protected\s+|static\s+|"
    r"async\s+|abstract\s+|final\s+|override\s+|inline\s+|virtual\s+)*"
    r"(?:def|class|function|func|fn|impl|struct|enum|trait|interface|module|namespace|"
    r"object|package|sub|macro_rules!|type|record|union|describe|it|test|context)\b"
)
_NOT_SCOPE: Final = re.compile(r"^\s*(?:[})\]#]|//|/\*|\*|--|else\b|elif\b|except\b|finally\b)")
_PY_OPENER: Final = re.compile(r"(?:async\s+def|def|class)\s+[^\W\d]\w*\s*[(:\[]")
# Lines that continue an expression or a string rather than start a statement.
_PY_CONTINUATION: Final = frozenset(")]}\"'#,.+-*/%|&<>=~^\\")
_PYTHON: Final = frozenset({".py", ".pyi"})
_CODE: Final = frozenset(
    {
        *(".c", ".cc", ".cpp", ".cs", ".cxx", ".dart", ".ex", ".exs", ".go", ".groovy", ".h"),
        *(".hh", ".hpp", ".java", ".js", ".jsx", ".kt", ".kts", ".lua", ".m", ".mjs", ".cjs"),
        *(".php", ".pl", ".pm", ".rb", ".rs", ".scala", ".sh", ".bash", ".swift", ".ts", ".tsx"),
        *(".vue", ".zig"),
    }
)


@dataclass(frozen=True, slots=True)
class IndentScopes:
    """Enclosing-scope lookup for one file's head content.

    ``kind`` is ``"python"``, ``"code"`` (the keyword and brace heuristic) or
    ``"none"`` for prose, markup and data, where indentation means no scope.
    """

    lines: tuple[str, ...]
    kind: str
    # Python opener line -> the openers enclosing it, innermost first: later hunks of the
    # same class stop their walk at the first opener already seen.
    _chains: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_content(cls, path: str, content: str) -> IndentScopes:
        suffix = posixpath.splitext(path)[1].lower()
        kind = "python" if suffix in _PYTHON else "code" if suffix in _CODE else "none"
        return cls(tuple(content.split("\n")) if kind != "none" else (), kind)

    def enclosing(self, line: int) -> tuple[Scope, ...]:
        """Signature lines of the scopes containing ``line``, outermost first."""
        if not 1 <= line <= len(self.lines):
            return ()
        found = self._python(line) if self.kind == "python" else self._heuristic(line)
        return tuple((n, self.lines[n - 1].rstrip("\r")) for n in reversed(found))

    def _python(self, line: int) -> list[int]:
        chain: list[int] = []
        lines = self.lines
        # A blank line belongs to the block of the next statement below it; a
        # continuation line (``) -> None:``) to the statement above, found by the scan.
        below = next(
            (t for t in lines[line - 1 : line - 1 + _MAX_WALK] if t.strip()[:1] not in ("", "#")),
            "",
        )
        first = below.lstrip(" \t")[:1]
        limit = len(below) - len(below.lstrip(" \t")) if first not in _PY_CONTINUATION else 0
        if below and limit == 0 and first not in _PY_CONTINUATION:
            return chain  # a top-level statement: nothing encloses it
        stop = max(0, line - 1 - _MAX_WALK)
        complete = stop == 0  # the walk can reach the top of the file
        for index in range(line - 2, stop - 1, -1):
            text = lines[index]
            if limit and text[:limit].isspace():
                continue  # indented at least as deep as the innermost block so far, or blank
            stripped = text.lstrip(" \t")
            if not stripped or stripped[0] in _PY_CONTINUATION or stripped.isspace():
                continue
            indent = len(text) - len(stripped)
            if limit and indent >= limit:
                continue
            limit = indent
            if _PY_OPENER.match(stripped):
                chain.append(index + 1)
                known = self._chains.get(index + 1)
                if known is not None:
                    # The walk from here on would repeat the one that found ``known``.
                    chain.extend(known)
                    break
                if len(chain) == MAX_DEPTH:
                    complete = False
                    break
            if indent == 0:
                break
        if complete:
            for position, opener in enumerate(chain):
                self._chains.setdefault(opener, chain[position + 1 :])
        return chain[:MAX_DEPTH]

    def _heuristic(self, line: int) -> list[int]:
        chain: list[int] = []
        lines = self.lines
        current = lines[line - 1]
        limit = _indent(current) if current.strip() else 0
        if current.strip() and limit == 0:
            return chain
        for index in range(line - 2, max(0, line - 1 - _MAX_WALK) - 1, -1):
            text = lines[index]
            if limit and text[:limit].isspace():
                continue
            if not text.strip():
                continue
            indent = _indent(text)
            if limit and indent >= limit:
                continue
            limit = indent
            stripped = text.rstrip()
            if not _NOT_SCOPE.match(text) and (
                _OPENER.match(text) or stripped.endswith(("{", ":"))
            ):
                chain.append(index + 1)
                if len(chain) == MAX_DEPTH:
                    break
            if indent == 0:
                break
        return chain


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))
