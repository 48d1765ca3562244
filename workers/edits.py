"""Find quoted lines in a text and replace whole lines: the pure core of suggestions and fixes.

A model cites code by quoting it and by giving line numbers that are only a
hint. ``locate`` finds the quote near the hint, trying in order:

1. ``exact``: the lines are equal (a trailing ``\\r`` is ignored);
2. ``whitespace``: equal after collapsing runs of whitespace and stripping ends;
3. ``fuzzy``: the most similar run of the same number of lines inside the search
   window, when its similarity is at least ``FUZZY_MIN``.

Among matches of the same kind the one closest to the hint wins, then the
earlier one. Line numbers are 1-based and ranges inclusive, like GitHub's.

``replace_lines`` swaps whole lines and keeps the text's line-ending style.
``python_parses`` tells whether a Python source still compiles to an AST.
"""

from __future__ import annotations

import ast
import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

MatchKind = Literal["exact", "whitespace", "fuzzy"]
FUZZY_MIN: Final = 0.85


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    kind: MatchKind
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class Edit:
    """The outcome of ``replace_quote``: the new text, or why there is none."""

    text: str | None
    match: Match | None
    reason: str | None = None


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` split on ``\\n`` only, without a trailing ``\\r``.

    Unlike ``str.splitlines`` this keeps form feeds and other separators inside
    lines, as git and GitHub do. A final newline does not start another line.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def quote_lines(quote: str) -> list[str]:
    """The quote as lines; surrounding blank lines a model adds are dropped."""
    lines = split_lines(quote)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _squash(text: str) -> str:
    return " ".join(text.split())


def locate(
    lines: Sequence[str],
    quote: str,
    hint: int,
    *,
    within: tuple[int, int] | None = None,
    fuzzy: bool = True,
) -> Match | None:
    """Where ``quote`` occurs in ``lines`` (restricted to the ``within`` line range)."""
    wanted = quote_lines(quote)
    size = len(wanted)
    lo, hi = within if within is not None else (1, len(lines))
    lo, hi = max(lo, 1), min(hi, len(lines))
    if size == 0 or hi - lo + 1 < size:
        return None
    starts = range(lo, hi - size + 2)

    def nearest(found: list[int], kind: MatchKind, scores: dict[int, float] | None = None) -> Match:
        best = min(found, key=lambda s: (abs(s - hint), s))
        return Match(best, best + size - 1, kind, 1.0 if scores is None else scores[best])

    exact = [s for s in starts if list(lines[s - 1 : s - 1 + size]) == wanted]
    if exact:
        return nearest(exact, "exact")
    squashed = [_squash(w) for w in wanted]
    loose = [s for s in starts if [_squash(t) for t in lines[s - 1 : s - 1 + size]] == squashed]
    if loose:
        return nearest(loose, "whitespace")
    if not fuzzy:
        return None
    target = "\n".join(squashed)
    scores: dict[int, float] = {}
    for s in starts:
        candidate = "\n".join(_squash(t) for t in lines[s - 1 : s - 1 + size])
        matcher = difflib.SequenceMatcher(None, target, candidate, autojunk=False)
        if matcher.real_quick_ratio() >= FUZZY_MIN and matcher.quick_ratio() >= FUZZY_MIN:
            ratio = matcher.ratio()
            if ratio >= FUZZY_MIN:
                scores[s] = ratio
    if not scores:
        return None
    top = max(scores.values())
    return nearest([s for s, r in scores.items() if r == top], "fuzzy", scores)


def replace_lines(text: str, start: int, end: int, replacement: str) -> str:
    """``text`` with lines ``start..end`` replaced by ``replacement`` (whole lines).

    An empty ``replacement`` deletes the lines. The file's newline style and its
    final newline (or lack of one) are kept.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    ends_with_newline = text.endswith("\n") or text == ""
    lines = split_lines(text)
    new = split_lines(replacement) if replacement else []
    result = lines[: start - 1] + new + lines[end:]
    joined = newline.join(result)
    return joined + newline if ends_with_newline and result else joined


def python_parses(source: str) -> bool:
    with warnings.catch_warnings():
        # Invalid escape sequences in the file under review are not our problem.
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def is_python(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


def replace_quote(
    text: str,
    quote: str,
    replacement: str,
    hint: int,
    *,
    path: str = "",
    within: tuple[int, int] | None = None,
    exact_only: bool = True,
) -> Edit:
    """Replace the lines ``quote`` cites near ``hint`` by ``replacement``.

    Refuses (``text`` is None, ``reason`` says why) when the quote is not found,
    matches only loosely while ``exact_only``, the replacement changes nothing,
    or a Python file that parsed before no longer does.
    """
    lines = split_lines(text)
    match = locate(lines, quote, hint, within=within, fuzzy=not exact_only)
    if match is None:
        return Edit(None, None, "quoted lines not found")
    if exact_only and match.kind != "exact":
        return Edit(None, match, f"quote matches only {match.kind}")
    old = lines[match.start - 1 : match.end]
    if split_lines(replacement) == old:
        return Edit(None, match, "replacement changes nothing")
    result = replace_lines(text, match.start, match.end, replacement)
    if is_python(path) and python_parses(text) and not python_parses(result):
        return Edit(None, match, "replacement leaves the Python file unparseable")
    return Edit(result, match)
