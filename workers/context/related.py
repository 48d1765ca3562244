"""Choose the related code each segment's prompt shows, within a token budget.

Pure over a ``RepoView`` (the mirror at the head, or a directory checkout).
For one segment (``RelatedFinder.for_segment``), from its ``SegmentChanges``:

1. callers: every call, in a file the PR does not change, of a function or
   method whose signature or return the segment changes; kept only where the
   file's parse tree has a call of that name on that line and the file does
   not define the name itself; shown as the call line with the line before
   and after it, within the calling definition;
2. definitions: for each name the changed lines use and the changed
   definitions do not define, the lines that may define it (``_DEFINES``),
   confirmed by their files' parse trees; the definition nearest the using
   file by path, shown from its first line to ``DEFINITION_BODY_LINES`` past
   its signature;
3. tests: calls of the other changed functions in test files (a test calling
   a reshaped function is among its callers, listed after the other code).

All segments' names are found with whole-word ``git grep -P`` alternations of
identifiers (``for_plan`` asks once for the whole plan), at most
``HITS_PER_NAME`` lines per name (lines that may define the name are kept
past that).

Each kind first gets its share of ``budget`` (``SHARES``), then what is left
goes to the kinds in that order; what does not fit is counted in
``left_out``. Callers come name by name, the function with the fewest call
sites first (a name called everywhere, like ``get``, is mostly other
functions' calls); definitions the names defined in the fewest files first (a
name defined in many, like ``copy``, is most often something else's method or
a builtin); tests one per symbol in turn.
``enclosing`` items (the definitions holding the changed lines) are listed for
the dry run and cost nothing: the diff shows them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from workers.context.changes import SegmentChanges
from workers.context.items import ContextItem, ContextKind, SegmentContext
from workers.context.view import GrepHit, RepoView
from workers.diff.patch import FileDiff
from workers.diff.plans import ReviewPlan, Segment
from workers.diff.syntax import EXTENSIONS, Definition, FileSyntax, language_of

DEFAULT_CONTEXT_TOKENS: Final = 3_000
DEFINITION_BODY_LINES: Final = 3
AROUND: Final = 1
MAX_GREP_HITS: Final = 200_000
MAX_NAMES: Final = 60
# Shares of the budget callers, definitions and tests get first; what is left goes in
# that order of kinds.
SHARES: Final = (0.5, 0.35, 0.15)
_ORDER: Final = {"caller": 0, "definition": 1, "test": 2, "enclosing": 3}
MAX_FILES_PARSED: Final = 400  # per question
MAX_FILES_KEPT: Final = 3_000
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD: Final = re.compile(r"[A-Za-z_$][\w$]*")
_TEST_PATH: Final = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing)/|(^|/)test_[^/]*$|_test\.[a-z]+$"
    r"|\.(test|spec)\.[a-z]+$|Tests?\.(java|cs|kt)$|_spec\.rb$|(^|/)conftest\.py$"
)
# Lines that may define a name: after a keyword (def, class, func, const, ...), bound
# at the start of a line (``NAME = ...``, ``NAME: int = ...``), declared with a type
# before it (``int name(``), or a C macro. The parse tree has the last word.
_DEFINES: Final = re.compile(
    r"\b(?:def|class|function|func|fn|const|let|var|type|interface|struct|enum|trait|module"
    r"|record|macro)\s+(?:\([^)]*\)\s*)?[*&]?(\w+)"
    r"|^\s*(?:export\s+)?(?:(?:public|private|protected|static|readonly|final)\s+)*"
    r"(\w+)\s*(?::[^=]*)?=(?!=)"
    r"|[\w>\]*&]\s+[*&]?(\w+)\s*\("
    r"|#define\s+(\w+)"
)
SOURCE_PATHS: Final = tuple(f"*{ext}" for ext in sorted(EXTENSIONS))
HITS_PER_NAME: Final = 1_000
NAMES_PER_GREP: Final = 500


def is_test_path(path: str) -> bool:
    return _TEST_PATH.search(path) is not None


@dataclass(frozen=True, slots=True)
class _Parsed:
    lines: tuple[str, ...]
    definitions: tuple[Definition, ...]
    parsed: bool

    names: frozenset[str]  # the functions and methods the file defines
    calls: frozenset[tuple[int, str]] | None  # (line, name) of every call, when asked for

    @classmethod
    def of(cls, syntax: FileSyntax, *, calls: bool) -> _Parsed:
        definitions = syntax.definitions()
        return cls(
            syntax.lines,
            definitions,
            syntax.parsed,
            frozenset(d.name for d in definitions if d.kind in ("function", "method")),
            frozenset((r.line, r.name) for r in syntax.references() if r.kind == "call")
            if calls
            else None,
        )


class RelatedFinder:
    """Related code for the segments of one plan; remembers what it parsed meanwhile."""

    def __init__(
        self,
        view: RepoView,
        files: Mapping[str, FileDiff],
        contents: Mapping[str, str],
        *,
        budget: int = DEFAULT_CONTEXT_TOKENS,
    ) -> None:
        self.view = view
        self.files = files
        self.changed_paths = frozenset(files) | frozenset(
            d.old_path for d in files.values() if d.old_path
        )
        self.budget = budget
        self._syntaxes = {
            path: FileSyntax.from_source(path, text)
            for path, text in contents.items()
            if path in files
        }
        self._parsed: dict[str, _Parsed] = {}
        self._hits: dict[str, list[GrepHit]] = {}

    def for_plan(self, plan: ReviewPlan) -> tuple[SegmentContext, ...]:
        """Every segment's context; the names of all segments are searched in one grep."""
        changes = [SegmentChanges.of(s, self.files, self._syntaxes) for s in plan.segments]
        if self.budget > 0:
            self._grep(sorted({n for c in changes for n in _searched(c)}))
        return tuple(self._context(s, c) for s, c in zip(plan.segments, changes, strict=True))

    def for_segment(self, segment: Segment) -> SegmentContext:
        return self._context(segment, SegmentChanges.of(segment, self.files, self._syntaxes))

    def _grep(self, names: Sequence[str]) -> list[GrepHit]:
        """Whole-word hits of ``names`` in source files, at most ``HITS_PER_NAME`` each;
        only the names not searched before are searched, all in one ``git grep``."""
        missing = [n for n in dict.fromkeys(names) if n not in self._hits]
        if missing:
            found: dict[str, list[GrepHit]] = {n: [] for n in missing}
            hits: list[GrepHit] = []
            # Identifiers only (``_IDENT``): safe to join into one expression, in
            # batches that stay far below the expression engine's size limit.
            for start in range(0, len(missing), NAMES_PER_GREP):
                batch = sorted(missing[start : start + NAMES_PER_GREP], key=len, reverse=True)
                pattern = rf"(?<![\w$])({'|'.join(batch)})(?![\w$])"
                hits += self.view.grep(
                    [pattern], limit=MAX_GREP_HITS, word=False, paths=SOURCE_PATHS, regex=True
                )
            for hit in hits:
                for name in {w for w in _WORD.findall(hit.text) if w in found}:
                    # Past the cap, only lines that may define the name are kept.
                    if len(found[name]) < HITS_PER_NAME or _defines(hit.text, {name}):
                        found[name].append(hit)
            self._hits.update(found)
        seen: dict[tuple[str, int], GrepHit] = {}
        for name in names:
            for hit in self._hits[name]:
                seen.setdefault((hit.path, hit.line), hit)
        return sorted(seen.values(), key=lambda h: (h.path, h.line))

    def _context(self, segment: Segment, changes: SegmentChanges) -> SegmentContext:
        enclosing = [
            ContextItem(f.path, d.start_line, d.end_line, "enclosing", d.name)
            for f in changes.files
            for d in f.enclosing
        ]
        if self.budget <= 0:
            return SegmentContext(segment.index, tuple(enclosing))
        callers, tests = self._calls(changes)
        definitions = self._definitions(changes)
        # Callers name by name, the functions with fewest call sites first: those are
        # likely calls of the changed function and can be shown whole; a name called
        # everywhere (``get``) is mostly other functions' calls and gets what is left.
        by_size = [i for g in sorted(callers, key=len) for i in g]
        kinds = [by_size, _round_robin(definitions), _round_robin(tests)]
        chosen: list[ContextItem] = []
        spent = 0
        # First each kind within its share of the budget, then the rest in order.
        passes = (*kinds, [i for k in kinds for i in k])
        for share, items in zip((*SHARES, 1.0), passes, strict=True):
            cap = self.budget * share
            used = 0
            for item in items:
                if item in chosen or any(_overlaps(item, other) for other in chosen):
                    continue
                if used + item.tokens > cap or spent + item.tokens > self.budget:
                    continue
                chosen.append(item)
                used += item.tokens
                spent += item.tokens
        left_out = sum(1 for k in kinds for i in k if i not in chosen)
        chosen.sort(key=lambda i: _ORDER[i.kind])
        return SegmentContext(segment.index, (*enclosing, *chosen), left_out)

    # -- callers and tests ------------------------------------------------------------------
    def _calls(
        self, changes: SegmentChanges
    ) -> tuple[list[list[ContextItem]], list[list[ContextItem]]]:
        reshaped = _names(d.name for _, d in changes.reshaped)
        words = _callables(changes)
        if not words:
            return [], []
        hits = [
            h
            for h in self._grep(words)
            if h.path not in self.changed_paths and any(_looks_called(h.text, w) for w in words)
        ]
        self._load((h.path for h in hits), calls=True)
        callers: dict[str, list[ContextItem]] = {}
        tests: dict[str, list[ContextItem]] = {}
        for hit in hits:
            parsed = self._parsed.get(hit.path)
            if parsed is None:
                continue
            for name in words:
                # A file defining the name calls its own, not the changed one.
                if name in parsed.names or not _calls_on_line(parsed, hit, name):
                    continue
                test = is_test_path(hit.path)
                if not test and name not in reshaped:
                    continue
                kind: ContextKind = "test" if test else "caller"
                item = _window(hit.path, parsed, hit.line, kind, name)
                # A test calling a reshaped function is one of its callers too.
                (callers if name in reshaped else tests).setdefault(name, []).append(item)
        for items in callers.values():
            items.sort(key=lambda i: i.kind == "test")  # other code before tests
        return list(callers.values()), list(tests.values())

    # -- definitions ------------------------------------------------------------------------
    def _definitions(self, changes: SegmentChanges) -> list[list[ContextItem]]:
        used = changes.used
        names = _used_elsewhere(changes)
        if not names:
            return []
        wanted = set(names)
        hits = [
            h for h in self._grep(names) if h.path not in used.values() and _defines(h.text, wanted)
        ]
        self._load(h.path for h in hits)
        found: dict[str, list[tuple[str, Definition]]] = {}
        for path in dict.fromkeys(h.path for h in hits):
            parsed = self._parsed.get(path)
            if parsed is None:
                continue
            for d in parsed.definitions:
                if d.name in wanted and d.kind != "object":
                    found.setdefault(d.name, []).append((path, d))
        groups: list[list[ContextItem]] = []
        # A name defined once in the repository first: a name defined in many files
        # (``get``, ``copy``) is most often a method of something else, or a builtin.
        for name in sorted(found, key=lambda n: (len({p for p, _ in found[n]}), n)):
            candidates = found[name]
            user = used[name]
            path, d = max(
                candidates,
                key=lambda c: (
                    language_of(c[0]) == language_of(user),
                    _shared_prefix(c[0], user),
                    -len(c[0]),
                ),
            )
            lines = self._parsed[path].lines
            # The signature and the start of the body (a docstring, the first statements).
            end = min(d.end_line, max(d.line, d.header_end) + DEFINITION_BODY_LINES)
            groups.append([ContextItem.build(path, lines, d.start_line, end, "definition", name)])
        return groups

    def _load(self, paths: Iterable[str], *, calls: bool = False) -> None:
        """Read and parse the files among ``paths`` not seen yet (or seen without their
        calls, when ``calls`` are wanted), in one read."""
        wanted = [
            p
            for p in dict.fromkeys(paths)
            if p not in self._parsed or (calls and self._parsed[p].calls is None)
        ][:MAX_FILES_PARSED]
        if not wanted:
            return
        if len(self._parsed) + len(wanted) > MAX_FILES_KEPT:
            self._parsed.clear()
        for path, text in self.view.read(wanted).items():
            self._parsed[path] = _Parsed.of(FileSyntax.from_source(path, text), calls=calls)


def plan_context(
    plan: ReviewPlan,
    files: Mapping[str, FileDiff],
    contents: Mapping[str, str],
    view: RepoView | None,
    budget: int,
) -> dict[int, SegmentContext]:
    """Each segment's related code by segment index; none without a view of the repository."""
    if view is None:
        return {}
    finder = RelatedFinder(view, files, contents, budget=budget)
    return {ctx.segment: ctx for ctx in finder.for_plan(plan)}


def _defines(text: str, names: set[str]) -> bool:
    """Whether ``text`` looks like it defines one of ``names`` (see ``_DEFINES``)."""
    return not _defined_names(text).isdisjoint(names)


@lru_cache(maxsize=100_000)
def _defined_names(text: str) -> frozenset[str]:
    """The names ``text`` may define (see ``_DEFINES``); a line is asked about often."""
    return frozenset(name for match in _DEFINES.finditer(text) for name in match.groups() if name)


def _callables(changes: SegmentChanges) -> list[str]:
    """Names of the changed functions and methods, reshaped ones first."""
    reshaped = _names(d.name for _, d in changes.reshaped)
    changed = _names(d.name for _, d in changes.changed if d.kind in ("function", "method"))
    return [*reshaped, *(n for n in changed if n not in reshaped)][:MAX_NAMES]


def _used_elsewhere(changes: SegmentChanges) -> list[str]:
    """Names the changed lines use and the changed files do not define."""
    defined = changes_defined(changes)
    return [n for n in _names(changes.used) if n not in defined][:MAX_NAMES]


def _searched(changes: SegmentChanges) -> list[str]:
    return [*_callables(changes), *_used_elsewhere(changes)]


def changes_defined(changes: SegmentChanges) -> frozenset[str]:
    """Names the segment's changed files define themselves (their definitions are in view)."""
    return frozenset(d.name for _, d in changes.changed)


def _names(names: Iterable[str]) -> list[str]:
    return sorted(
        {n for n in names if _IDENT.match(n) and not (n.startswith("__") and n.endswith("__"))}
    )


def _looks_called(text: str, name: str) -> bool:
    """Whether ``name`` is followed by ``(`` somewhere in ``text``: files are parsed only
    for lines that may hold a call."""
    start = text.find(name)
    while start >= 0:
        rest = text[start + len(name) :].lstrip()
        if rest.startswith("("):
            return True
        start = text.find(name, start + 1)
    return False


def _calls_on_line(parsed: _Parsed, hit: GrepHit, name: str) -> bool:
    if parsed.calls is not None and parsed.parsed:
        return (hit.line, name) in parsed.calls
    return re.search(rf"\b{re.escape(name)}\s*\(", hit.text) is not None


def _window(path: str, parsed: _Parsed, line: int, kind: ContextKind, name: str) -> ContextItem:
    start, end = line - AROUND, line + AROUND
    holders = [d for d in parsed.definitions if d.start_line <= line <= d.end_line]
    if holders:
        inner = max(holders, key=lambda d: d.start_line)
        start, end = max(start, inner.start_line), min(end, inner.end_line)
    return ContextItem.build(path, parsed.lines, max(1, start), end, kind, name)


def _round_robin(groups: Sequence[Sequence[ContextItem]]) -> list[ContextItem]:
    out: list[ContextItem] = []
    depth = max((len(g) for g in groups), default=0)
    for index in range(depth):
        out.extend(g[index] for g in groups if index < len(g))
    return out


def _overlaps(a: ContextItem, b: ContextItem) -> bool:
    return a.path == b.path and a.start_line <= b.end_line and b.start_line <= a.end_line


def _shared_prefix(a: str, b: str) -> int:
    """How many leading directories ``a`` and ``b`` share."""
    common = posixpath.commonpath([posixpath.dirname(a) or ".", posixpath.dirname(b) or "."])
    return 0 if common in ("", ".") else len(common.split("/"))
