"""Parse unified diffs: GitHub's per-file ``patch`` strings and whole ``git diff`` output.

Pure functions from text to frozen values. Nothing here raises on bad content:
a file whose hunks cannot be read comes back with ``malformed`` set to a
message naming the file and the line (1-based within the input), and no hunks,
so the planner can list it as skipped instead of losing the whole review.

Bytes are decoded as UTF-8 with replacement characters for invalid sequences;
a trailing ``\\r`` (CRLF files) is kept out of line text and recorded in
``DiffLine.crlf`` so rendering and quoting see the text a reviewer sees.

Which lines GitHub accepts review comments on: on the RIGHT side every added or
context line of a hunk (new-file numbers), on the LEFT every deleted or context
line (old-file numbers); a range must stay inside one hunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import AnyStr, Final, Literal, NamedTuple, Self

FileStatus = Literal["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]
LineKind = Literal["+", "-", " "]

_HUNK_HEADER: Final = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_NO_NEWLINE: Final = "\\ No newline at end of file"


class DiffLine(NamedTuple):
    """One line of a hunk. ``old``/``new`` are None on the side the line is absent from.

    A typed named tuple rather than a frozen dataclass: a large pull request has a
    hundred thousand of these, and a tuple is built several times faster.
    """

    kind: LineKind
    text: str
    old: int | None
    new: int | None
    no_newline: bool = False
    crlf: bool = False


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[DiffLine, ...]
    section: str = ""

    @property
    def added(self) -> int:
        return [line.kind for line in self.lines].count("+")

    @property
    def deleted(self) -> int:
        return [line.kind for line in self.lines].count("-")

    @property
    def new_end(self) -> int:
        """Last new-file line number covered by the hunk (``new_start - 1`` when empty)."""
        return self.new_start + self.new_len - 1

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of a diff. ``path`` is the new path (the old one for a removed file)."""

    path: str
    status: FileStatus
    hunks: tuple[Hunk, ...] = ()
    old_path: str | None = None
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    malformed: str | None = None
    # Derived from ``hunks`` on first use: most files of a large diff are never anchored to.
    _index: dict[str, Mapping[int, int]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def build(
        cls,
        path: str,
        status: FileStatus,
        hunks: Sequence[Hunk] = (),
        *,
        old_path: str | None = None,
        binary: bool = False,
        old_mode: str | None = None,
        new_mode: str | None = None,
        similarity: int | None = None,
        malformed: str | None = None,
    ) -> Self:
        """Construct from parts; ``hunks`` may be any sequence."""
        return cls(
            path,
            status,
            tuple(hunks),
            old_path=old_path,
            binary=binary,
            old_mode=old_mode,
            new_mode=new_mode,
            similarity=similarity,
            malformed=malformed,
        )

    @property
    def right_lines(self) -> Mapping[int, int]:
        """New line number -> index of the hunk showing it (added or context lines)."""
        return self._lines("RIGHT")

    @property
    def left_lines(self) -> Mapping[int, int]:
        """Old line number -> index of the hunk showing it (deleted or context lines)."""
        return self._lines("LEFT")

    def _lines(self, side: Literal["LEFT", "RIGHT"]) -> Mapping[int, int]:
        found = self._index.get(side)
        if found is None:
            numbers: dict[int, int] = {}
            for index, hunk in enumerate(self.hunks):
                for line in hunk.lines:
                    number = line.new if side == "RIGHT" else line.old
                    if number is not None:
                        numbers[number] = index
            found = self._index[side] = MappingProxyType(numbers)
        return found

    @property
    def is_new(self) -> bool:
        return self.status == "added"

    @property
    def is_deleted(self) -> bool:
        return self.status == "removed"

    @property
    def mode_changed(self) -> bool:
        return self.old_mode is not None and self.new_mode is not None

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def deleted(self) -> int:
        return sum(h.deleted for h in self.hunks)

    @property
    def changed(self) -> int:
        return self.added + self.deleted

    def commentable(self, line: int, side: Literal["LEFT", "RIGHT"] = "RIGHT") -> bool:
        return line in (self.right_lines if side == "RIGHT" else self.left_lines)

    def same_hunk(self, start: int, end: int, side: Literal["LEFT", "RIGHT"] = "RIGHT") -> bool:
        """Whether every line in ``start..end`` is commentable and in one hunk."""
        lines = self.right_lines if side == "RIGHT" else self.left_lines
        hunk = lines.get(start)
        return hunk is not None and all(lines.get(n) == hunk for n in range(start, end + 1))


class _Malformed(Exception):
    """Internal: a hunk that cannot be read; becomes ``FileDiff.malformed``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _decode(data: str | bytes) -> str:
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def _parse_hunks(lines: Sequence[str], start: int, end: int) -> tuple[list[Hunk], int]:
    """Read hunks from ``lines[start:end]`` until a line that is not part of one.

    Returns the hunks and the index of the first unconsumed line. A hunk whose
    body ends before its header's counts are used up is malformed.
    """
    hunks: list[Hunk] = []
    i = start
    while i < end and lines[i].startswith("@@"):
        match = _HUNK_HEADER.match(lines[i].rstrip("\r"))
        if match is None:
            raise _Malformed(i + 1, f"bad hunk header {lines[i][:80]!r}")
        old_start, new_start = int(match[1]), int(match[3])
        old_len = 1 if match[2] is None else int(match[2])
        new_len = 1 if match[4] is None else int(match[4])
        old_left, new_left = old_len, new_len
        old_no, new_no = old_start, new_start
        body: list[DiffLine] = []
        append = body.append
        i += 1
        while old_left > 0 or new_left > 0:
            if i >= end:
                raise _Malformed(
                    i,
                    f"hunk {match[0].split(' @@')[0]} @@ ends early "
                    f"({old_left} old and {new_left} new lines missing)",
                )
            raw = lines[i]
            mark = raw[:1]
            text = raw[1:]
            crlf = text[-1:] == "\r"
            if crlf:
                text = text[:-1]
            # Some tools strip the single space of an empty context line.
            if (mark == " " or not mark) and old_left > 0 and new_left > 0:
                append(DiffLine(" ", text, old_no, new_no, False, crlf))
                old_no += 1
                new_no += 1
                old_left -= 1
                new_left -= 1
            elif mark == "-" and old_left > 0:
                append(DiffLine("-", text, old_no, None, False, crlf))
                old_no += 1
                old_left -= 1
            elif mark == "+" and new_left > 0:
                append(DiffLine("+", text, None, new_no, False, crlf))
                new_no += 1
                new_left -= 1
            elif mark == "\\" and body:
                body[-1] = _without_newline(body[-1])
            else:
                raise _Malformed(
                    i + 1,
                    f"unexpected line {raw[:80]!r} in hunk "
                    f"({old_left} old and {new_left} new lines expected)",
                )
            i += 1
        # The marker for the hunk's last line comes after the counts are used up.
        if i < end and lines[i].startswith("\\") and body:
            body[-1] = _without_newline(body[-1])
            i += 1
        hunks.append(Hunk(old_start, old_len, new_start, new_len, tuple(body), match[5]))
    return hunks, i


def _without_newline(line: DiffLine) -> DiffLine:
    return line._replace(no_newline=True)


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_patch(
    path: str,
    patch: str | bytes | None,
    *,
    status: FileStatus = "modified",
    old_path: str | None = None,
) -> FileDiff:
    """Parse one file's ``patch`` as GitHub's pull-request files API returns it.

    A missing or empty patch means GitHub shows no diff (binary, too large, or a
    pure rename or mode change): the file has no hunks and nothing is commentable.
    """
    if not patch:
        return FileDiff.build(path, status, old_path=old_path, binary=patch is None)
    lines = _split_lines(_decode(patch))
    try:
        hunks, stop = _parse_hunks(lines, 0, len(lines))
        if stop < len(lines):
            raise _Malformed(stop + 1, f"expected a hunk header, got {lines[stop][:80]!r}")
    except _Malformed as exc:
        return FileDiff.build(
            path, status, old_path=old_path, malformed=f"{path}: line {exc.line}: {exc.message}"
        )
    return FileDiff.build(path, status, hunks, old_path=old_path)


_ESCAPES: Final = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_ESCAPES_MORE: Final = {"f": "\f", "r": "\r", "v": "\v"}


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of paths with unusual characters."""
    if not (len(name) >= 2 and name.startswith('"') and name.endswith('"')):
        return name
    body = name[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.extend((_ESCAPES.get(nxt) or _ESCAPES_MORE.get(nxt) or nxt).encode())
            i += 2
            continue
        out.extend(ch.encode("utf-8", errors="surrogateescape"))
        i += 1
    return out.decode("utf-8", errors="replace")


def _strip_prefix(name: str) -> str:
    name = _unquote(name.rstrip("\t\r"))
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def _paths_from_git_line(line: str) -> tuple[str, str]:
    """``diff --git a/X b/Y`` -> (X, Y); ambiguous when names contain `` b/``."""
    rest = line[len("diff --git ") :].rstrip("\r")
    if rest.startswith('"'):
        end = rest.index('"', 1)
        while rest[end - 1] == "\\":
            end = rest.index('"', end + 1)
        return _strip_prefix(rest[: end + 1]), _strip_prefix(rest[end + 2 :])
    # Unquoted: both names have the same length when the path did not change.
    half = (len(rest) - 1) // 2
    if rest[half] == " " and rest[:half][2:] == rest[half + 1 :][2:]:
        return _strip_prefix(rest[:half]), _strip_prefix(rest[half + 1 :])
    at = rest.find(" b/")
    if at < 0:
        at = rest.find(" ")
    return _strip_prefix(rest[:at]), _strip_prefix(rest[at + 1 :])


def _sections(data: AnyStr, marker: AnyStr, newline: AnyStr) -> Iterator[tuple[int, AnyStr]]:
    """Each ``diff --git`` section of ``data`` with the 0-based line number it starts at.

    ``marker`` is ``"\\ndiff --git "`` and ``newline`` ``"\\n"``, as ``str`` or ``bytes``
    like ``data``. Cutting the input before decoding keeps one section, not the
    whole diff, as a decoded string and a list of lines at a time. A UTF-8
    sequence never holds a newline byte, so decoding section by section gives
    the same text.
    """
    start = 0 if data.startswith(marker[1:]) else data.find(marker)
    if start < 0:
        return
    if start > 0:
        start += 1
    line = data.count(newline, 0, start)
    while start >= 0:
        end = data.find(marker, start)
        section = data[start:] if end < 0 else data[start : end + 1]
        yield line, section
        line += section.count(newline)
        start = end if end < 0 else end + 1


def _parse_git_file(lines: Sequence[str], start: int, end: int, offset: int = 0) -> FileDiff:
    old, new = _paths_from_git_line(lines[start])
    status: FileStatus = "modified"
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    binary = False
    i = start + 1
    while i < end and not lines[i].startswith("@@"):
        line = lines[i].rstrip("\r")
        if line.startswith("new file mode "):
            status, new_mode = "added", line.rsplit(" ", 1)[1]
        elif line.startswith("deleted file mode "):
            status, old_mode = "removed", line.rsplit(" ", 1)[1]
        elif line.startswith("old mode "):
            old_mode = line.rsplit(" ", 1)[1]
        elif line.startswith("new mode "):
            new_mode = line.rsplit(" ", 1)[1]
        elif line.startswith("rename from "):
            status, old = "renamed", _unquote(line[len("rename from ") :])
        elif line.startswith("rename to "):
            new = _unquote(line[len("rename to ") :])
        elif line.startswith("copy from "):
            status, old = "copied", _unquote(line[len("copy from ") :])
        elif line.startswith("copy to "):
            new = _unquote(line[len("copy to ") :])
        elif line.startswith(("similarity index ", "dissimilarity index ")):
            similarity = int(line.rsplit(" ", 1)[1].rstrip("%"))
        elif line.startswith("--- ") and line != "--- /dev/null":
            old = _strip_prefix(line[4:])
        elif line.startswith("+++ ") and line != "+++ /dev/null":
            new = _strip_prefix(line[4:])
        elif line.startswith(("Binary files ", "GIT binary patch")):
            binary = True
        i += 1
    if status == "modified" and old_mode is not None and new_mode is not None and i >= end:
        status = "changed"
    path = old if status == "removed" else new
    old_path = old if old != new or status in ("renamed", "copied") else None
    hunks: list[Hunk] = []
    malformed: str | None = None
    try:
        hunks, stop = _parse_hunks(lines, i, end)
        if stop < end:
            raise _Malformed(stop + 1, f"expected a hunk header, got {lines[stop][:80]!r}")
    except _Malformed as exc:
        hunks, malformed = [], f"{path}: line {exc.line + offset}: {exc.message}"
    return FileDiff.build(
        path,
        status,
        hunks,
        old_path=old_path,
        binary=binary,
        old_mode=old_mode,
        new_mode=new_mode,
        similarity=similarity,
        malformed=malformed,
    )


def parse_git_diff(text: str | bytes) -> tuple[FileDiff, ...]:
    """Parse ``git diff`` output (any preamble before the first ``diff --git`` is ignored).

    Line numbers in ``malformed`` messages count from the start of ``text``.
    """
    sections: Iterator[tuple[int, str | bytes]] = (
        _sections(text, b"\ndiff --git ", b"\n")
        if isinstance(text, bytes)
        else _sections(text, "\ndiff --git ", "\n")
    )
    files = []
    for offset, section in sections:
        lines = _split_lines(_decode(section))
        files.append(_parse_git_file(lines, 0, len(lines), offset))
    return tuple(files)
