"""Include/exclude globs: the one engine that decides which paths a review covers.

The repository configuration validates its globs here and the review plan
filters with the same compiled rules, so the files whose contents are fetched
and the files that are planned are decided alike.

Syntax is gitignore's, matched against a file's path in the new tree:

* ``*`` matches within one path segment, ``?`` one character, ``[a-z]`` /
  ``[!a-z]`` one character of a class; ``\\`` escapes the next character.
* A glob with a ``/`` at its start or in its middle is anchored at the
  repository root (``/build``, ``src/gen``); one without matches at any depth
  (``*.lock``, ``generated``).
* ``**/`` at the start matches any directories, ``/**/`` zero or more
  directories, ``/**`` at the end everything inside; other runs of ``*`` count
  as one ``*``.
* A trailing ``/`` matches directories only. A glob that matches a directory
  covers every file beneath it.
* ``!`` re-includes what an earlier glob of the same list matched: the last
  matching glob decides. Blank globs and globs starting with ``#`` match nothing.

One difference from git, on purpose: git cannot re-include a file whose parent
directory is excluded, because it never walks into that directory. Nothing is
walked here, so ``exclude: ["docs/**", "!docs/api/"]`` reviews ``docs/api/x.md``
and skips ``docs/x.md``, as the globs read.

A path is reviewed when it matches ``include`` (or ``include`` is empty) and
does not match ``exclude``; ``exclude`` is checked first.

Cost: each glob compiles to one regular expression that never backtracks
across a star or a ``**``. A star inside a segment, and a ``**`` before more
segments, commit to the earliest place what follows fits (atomic groups, as
``fnmatch`` does for stars); only a segment's last star backtracks, within that
segment. Matching one glob is therefore bounded by (its segments x the path's
segments) steps inside the regular-expression engine, and the configuration
caps how many globs there are and how long each is (``MAX_GLOBS``,
``MAX_GLOB_CHARS``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

MAX_GLOBS: Final = 100  # per list (include, exclude)
MAX_GLOB_CHARS: Final = 256
_STARS: Final = re.compile(r"\*{3,}")
_ANY: Final = "[^/]+"  # one whole segment
_DEEP: Final = None  # `**`: zero or more whole segments

PathVerdict = Literal["excluded", "not_included"]


def normalise(glob: str) -> str:
    """``glob`` with every run of three or more ``*`` written as ``**`` (same meaning)."""
    return _STARS.sub("**", glob)


@dataclass(frozen=True, slots=True)
class Glob:
    """One compiled glob. ``regex`` is matched against ``"/" + path``."""

    text: str
    negated: bool
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Glob | None:
        """The glob ``text`` means, or ``None`` for a blank line or a comment."""
        line = _strip_trailing_spaces(normalise(text))
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        body = line[1:] if negated else line
        directory = body.endswith("/")
        body = body.rstrip("/")
        anchored = "/" in body
        parts = [part for part in body.split("/") if part]
        if not parts:
            return None
        tokens: list[str | None] = [] if anchored else [_DEEP]
        tokens += [_DEEP if part == "**" else _segment(part) for part in parts]
        if tokens[-1] is _DEEP:
            tokens[-1:] = [_ANY, _DEEP]  # `dir/**`: something inside, not `dir` itself
        # A glob that names a directory covers everything beneath it; with a
        # trailing `/` it names only directories, so something must follow.
        tokens += [_ANY, _DEEP] if directory else [_DEEP]
        return cls(text, negated, re.compile(_expression(tokens)))

    def matches(self, path: str) -> bool:
        """Whether ``path`` is matched (``negated`` aside)."""
        return self.regex.match("/" + path) is not None


def _expression(tokens: Sequence[str | None]) -> str:
    """The expression for segment patterns and ``**`` (``None``); the last token is ``**``.

    Segments are written ``/segment``. A run of segments after a ``**`` sits in
    an atomic group that skips as few segments as it can: as another ``**``
    (at the latest the final one) follows, the earliest fit is as good as any.
    """
    out: list[str] = []
    run: list[str] = []
    deep = False
    for token in tokens:
        if token is not None:
            run.append(f"/{token}(?=/|\\Z)")
            continue
        if run:
            joined = "".join(run)
            out.append(f"(?>(?:/[^/]++)*?{joined})" if deep else joined)
        run, deep = [], True
    return "".join(out)


@dataclass(frozen=True, slots=True)
class GlobList:
    """Globs in order; the last one that matches a path decides."""

    globs: tuple[Glob, ...]

    @classmethod
    def parse(cls, texts: Iterable[str]) -> GlobList:
        return cls(tuple(g for g in map(Glob.parse, texts) if g is not None))

    def matches(self, path: str) -> bool:
        for glob in reversed(self.globs):
            if glob.matches(path):
                return not glob.negated
        return False


@dataclass(frozen=True, slots=True)
class PathRules:
    """Compiled ``include`` and ``exclude`` lists; build with ``PathRules.compile``."""

    include: GlobList | None  # None: every path is included
    exclude: GlobList

    @classmethod
    def compile(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> PathRules:
        """The rules for these globs, compiled once per distinct pair of lists."""
        return _compiled(tuple(include), tuple(exclude))

    def verdict(self, path: str) -> PathVerdict | None:
        """``None`` when ``path`` is reviewed, else which list leaves it out."""
        if self.exclude.matches(path):
            return "excluded"
        if self.include is not None and not self.include.matches(path):
            return "not_included"
        return None

    def reason_skipped(self, path: str) -> str | None:
        """``None`` when ``path`` is reviewed, else why not, in words."""
        verdict = self.verdict(path)
        return None if verdict is None else self.describe(verdict)

    @staticmethod
    def describe(verdict: PathVerdict) -> str:
        """The words for a verdict, as the review plan lists them."""
        return _VERDICT_TEXT[verdict]


_VERDICT_TEXT: Final[dict[PathVerdict, str]] = {
    "excluded": "excluded by configuration",
    "not_included": "not included by configuration",
}


@functools.lru_cache(maxsize=64)
def _compiled(include: tuple[str, ...], exclude: tuple[str, ...]) -> PathRules:
    return PathRules(GlobList.parse(include) if include else None, GlobList.parse(exclude))


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces are dropped unless escaped, as gitignore does."""
    stripped = line.rstrip(" ")
    if stripped != line and stripped.endswith("\\") and not stripped.endswith("\\\\"):
        return stripped + " "
    return stripped


def _segment(part: str) -> str:
    """An expression for one segment: stars commit to the earliest fit of what follows.

    Between two stars, ``(?>.*?X)`` finds the first place the fixed piece ``X``
    fits and never returns to try another; that first place is always as good
    as any later one. Only the last star backtracks, over one segment.
    """
    pieces: list[str | None] = []  # None is a star
    i = 0
    while i < len(part):
        char = part[i]
        if char == "*":
            if not pieces or pieces[-1] is not None:
                pieces.append(None)
        elif char == "?":
            pieces.append("[^/]")
        elif char == "[" and (end := _class_end(part, i)) is not None:
            pieces.append(_class(part[i + 1 : end]))
            i = end
        elif char == "\\" and i + 1 < len(part):
            i += 1
            pieces.append(re.escape(part[i]))
        else:
            pieces.append(re.escape(char))
        i += 1
    out: list[str] = []
    fixed: list[str] = []
    starred = False
    for piece in pieces:
        if piece is not None:
            fixed.append(piece)
            continue
        if starred:
            out.append(f"(?>[^/]*?{''.join(fixed)})")
        else:
            out.append("".join(fixed))
        fixed, starred = [], True
    out.append(f"[^/]*{''.join(fixed)}" if starred else "".join(fixed))
    return "".join(out)


def _class_end(part: str, start: int) -> int | None:
    """Index of the ``]`` closing the class opened at ``start``, or ``None`` (a literal ``[``)."""
    i = start + 1
    if i < len(part) and part[i] in "!^":
        i += 1
    if i < len(part) and part[i] == "]":
        i += 1
    while i < len(part):
        if part[i] == "\\":
            i += 2
            continue
        if part[i] == "]":
            return i
        i += 1
    return None


def _class(body: str) -> str:
    """A regular-expression class for the inside of ``[...]``."""
    negate = body[:1] in ("!", "^")
    chars: list[tuple[str, bool]] = []  # (character, escaped)
    i = 1 if negate else 0
    while i < len(body):
        escaped = body[i] == "\\" and i + 1 < len(body)
        i += escaped
        chars.append((body[i], escaped))
        i += 1
    ranges: list[str] = []
    k = 0
    while k < len(chars):
        if k + 2 < len(chars) and chars[k + 1] == ("-", False):
            low, high = chars[k][0], chars[k + 2][0]
            if low <= high:
                ranges.append(f"{re.escape(low)}-{re.escape(high)}")
            k += 3
        else:
            ranges.append(re.escape(chars[k][0]))
            k += 1
    if not ranges:
        return "[^/]" if negate else "(?!)"
    return f"[^/{''.join(ranges)}]" if negate else f"[{''.join(ranges)}]"
