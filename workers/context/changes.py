"""What one segment changes, read from its diff and the changed files' parse trees.

Pure. ``SegmentChanges.of(segment, files, syntaxes)`` gives, per changed file,
the added lines the segment holds; the definitions those lines fall in; the
functions and methods of a modified file whose signature (a line up to
``header_end``) or return (a ``return``/``yield`` line) the segment changes,
which are the ones whose callers matter (in an added file every line is new);
and the names the added lines use: calls and base types from the grammar's
references, and constant-case identifiers (``MAX_SIZE``), which no reference
query names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from workers.diff.patch import FileDiff
from workers.diff.plans import Segment
from workers.diff.syntax import Definition, FileSyntax

_CONSTANT: Final = re.compile(r"\b_*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{3,}[0-9]*\b")
_RETURNS: Final = re.compile(r"^\s*(return|yield)\b")
_CALLABLE: Final = frozenset({"function", "method"})
MIN_NAME: Final = 3


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file's part of a segment: its added lines (new numbers) and what they touch."""

    path: str
    added: frozenset[int]
    enclosing: tuple[Definition, ...]  # innermost definitions holding added lines
    changed: tuple[Definition, ...]  # functions, methods, classes with added lines
    reshaped: tuple[Definition, ...]  # functions and methods whose signature or return changed
    used: frozenset[str]  # names the added lines use and this file does not define


@dataclass(frozen=True, slots=True)
class SegmentChanges:
    files: tuple[FileChange, ...]

    @classmethod
    def of(
        cls, segment: Segment, files: Mapping[str, FileDiff], syntaxes: Mapping[str, FileSyntax]
    ) -> SegmentChanges:
        """The changes of ``segment``; a file without head text (``syntaxes``) is left out."""
        added: dict[str, set[int]] = {}
        for part in segment.files:
            diff = files.get(part.path)
            if diff is None or part.path not in syntaxes:
                continue
            lines = added.setdefault(part.path, set())
            for index in part.hunks:
                hunk_lines = diff.hunks[index].lines
                if part.line_range is not None:
                    hunk_lines = hunk_lines[part.line_range[0] : part.line_range[1] + 1]
                lines.update(x.new for x in hunk_lines if x.kind == "+" and x.new is not None)
        return cls(
            tuple(
                file_change(path, frozenset(lines), syntaxes[path], added_file=files[path].is_new)
                for path, lines in added.items()
                if lines
            )
        )

    @property
    def reshaped(self) -> tuple[tuple[str, Definition], ...]:
        return tuple((f.path, d) for f in self.files for d in f.reshaped)

    @property
    def changed(self) -> tuple[tuple[str, Definition], ...]:
        return tuple((f.path, d) for f in self.files for d in f.changed)

    @property
    def used(self) -> dict[str, str]:
        """Name -> the changed file that uses it (the first one)."""
        names: dict[str, str] = {}
        for f in self.files:
            for name in sorted(f.used):
                names.setdefault(name, f.path)
        return names


def file_change(
    path: str, added: frozenset[int], syntax: FileSyntax, *, added_file: bool = False
) -> FileChange:
    """``added_file``: the whole file is new, so nothing in it changed shape (its functions
    are new, or moved from a file the diff shows deleted)."""
    definitions = syntax.definitions()
    holding = [d for d in definitions if any(d.start_line <= n <= d.end_line for n in added)]
    scopes = [d for d in holding if d.kind != "constant"]
    innermost = [
        d
        for d in scopes
        if not any(o is not d and d.start_line <= o.start_line <= o.end_line <= d.end_line
                   for o in scopes)
    ]  # fmt: skip
    reshaped = [
        d
        for d in scopes
        if not added_file and d.kind in _CALLABLE and _reshaped(d, added, syntax.lines)
    ]
    defined = {d.name for d in definitions}
    used = {r.name for r in syntax.references() if r.line in added}
    for number in added:
        if number <= len(syntax.lines):
            used.update(_CONSTANT.findall(_code_part(syntax.lines[number - 1])))
    return FileChange(
        path=path,
        added=added,
        enclosing=tuple(innermost),
        changed=tuple(d for d in scopes if d.kind != "object"),
        reshaped=tuple(reshaped),
        used=frozenset(n for n in used - defined if len(n) >= MIN_NAME),
    )


def _reshaped(d: Definition, added: frozenset[int], lines: tuple[str, ...]) -> bool:
    header = range(d.line, max(d.line, d.header_end) + 1)
    if any(n in added for n in header):
        return True
    return any(
        d.start_line <= n <= d.end_line and n <= len(lines) and _RETURNS.match(lines[n - 1])
        for n in added
    )


def _code_part(line: str) -> str:
    """The line without a trailing comment or string literals, roughly: for name scanning."""
    line = re.sub(r"(\"[^\"]*\"|'[^']*')", "", line)
    for marker in ("#", "//"):
        line = line.split(marker, 1)[0]
    return line
