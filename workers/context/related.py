"""Choose the related code each segment's prompt shows, within a token budget.

Pure over a ``RepoView`` (the mirror at the head, or a directory checkout).
For one segment (``RelatedFinder.for_segment``), from its ``SegmentChanges``:

1. callers: every call, in a file the PR does not change, of a function or
   method whose signature or return the segment changes; found with one
   literal whole-word ``git grep`` of their names, kept only where the file's
   parse tree has a call of that name on that line (files without a grammar:
   ``name(`` on the line); shown as the call line with two lines around it,
   within the calling definition;
2. definitions: for each name the changed lines use and their file does not
   define, its definition in another file: one ``git grep -E`` for lines that
   look like definitions of those names, confirmed by the file's parse tree;
   the definition nearest the using file by path; shown from its first line,
   at most ``DEFINITION_LINES`` lines;
3. tests: calls of the changed functions (reshaped or not) in test files.

Items are taken in that order of kinds, and within a kind one per symbol in
turn, so a function called a thousand times does not crowd out the rest,
until the next item would pass ``budget`` tokens; what does not fit is counted
in ``left_out``. ``enclosing`` items (the definitions holding the changed
lines) are listed for the dry run and cost nothing: the diff shows them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from workers.context.changes import SegmentChanges
from workers.context.items import ContextItem, ContextKind, SegmentContext
from workers.context.view import GrepHit, RepoView
from workers.diff.patch import FileDiff
from workers.diff.plans import ReviewPlan, Segment
from workers.diff.syntax import Definition, FileSyntax, Reference, language_of

DEFAULT_CONTEXT_TOKENS: Final = 3_000
DEFINITION_LINES: Final = 12
AROUND: Final = 2
MAX_GREP_HITS: Final = 3_000
MAX_NAMES: Final = 60
MAX_FILES_PARSED: Final = 400
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEST_PATH: Final = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing)/|(^|/)test_[^/]*$|_test\.[a-z]+$"
    r"|\.(test|spec)\.[a-z]+$|Tests?\.(java|cs|kt)$|_spec\.rb$|(^|/)conftest\.py$"
)
_DEF_KEYWORDS: Final = (
    "def|class|function|func|fn|const|let|var|type|interface|struct|enum|trait|module|record"
)


def is_test_path(path: str) -> bool:
    return _TEST_PATH.search(path) is not None


@dataclass(frozen=True, slots=True)
class _Parsed:
    lines: tuple[str, ...]
    definitions: tuple[Definition, ...]
    references: tuple[Reference, ...]
    parsed: bool


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

    def for_plan(self, plan: ReviewPlan) -> tuple[SegmentContext, ...]:
        return tuple(self.for_segment(segment) for segment in plan.segments)

    def for_segment(self, segment: Segment) -> SegmentContext:
        changes = SegmentChanges.of(segment, self.files, self._syntaxes)
        enclosing = [
            ContextItem(f.path, d.start_line, d.end_line, "enclosing", d.name)
            for f in changes.files
            for d in f.enclosing
        ]
        if self.budget <= 0:
            return SegmentContext(segment.index, tuple(enclosing))
        callers, tests = self._calls(changes)
        definitions = self._definitions(changes)
        chosen: list[ContextItem] = []
        left_out = 0
        spent = 0
        for group in (callers, definitions, tests):
            for item in _round_robin(group):
                if any(_overlaps(item, other) for other in chosen):
                    continue
                if spent + item.tokens > self.budget:
                    left_out += 1
                    continue
                chosen.append(item)
                spent += item.tokens
        return SegmentContext(segment.index, (*enclosing, *chosen), left_out)

    # -- callers and tests ------------------------------------------------------------------
    def _calls(
        self, changes: SegmentChanges
    ) -> tuple[list[list[ContextItem]], list[list[ContextItem]]]:
        reshaped = _names(d.name for _, d in changes.reshaped)
        changed = _names(d.name for _, d in changes.changed if d.kind in ("function", "method"))
        words = sorted(set(reshaped) | set(changed))[:MAX_NAMES]
        if not words:
            return [], []
        hits = [
            h
            for h in self.view.grep(words, limit=MAX_GREP_HITS)
            if h.path not in self.changed_paths
        ]
        self._load(h.path for h in hits)
        callers: dict[str, list[ContextItem]] = {}
        tests: dict[str, list[ContextItem]] = {}
        for hit in hits:
            parsed = self._parsed.get(hit.path)
            if parsed is None:
                continue
            for name in words:
                if not _calls_on_line(parsed, hit, name):
                    continue
                test = is_test_path(hit.path)
                if not test and name not in reshaped:
                    continue
                kind: ContextKind = "test" if test else "caller"
                item = _window(hit.path, parsed, hit.line, kind, name)
                (tests if test else callers).setdefault(name, []).append(item)
        return list(callers.values()), list(tests.values())

    # -- definitions ------------------------------------------------------------------------
    def _definitions(self, changes: SegmentChanges) -> list[list[ContextItem]]:
        used = changes.used
        names = [n for n in _names(used) if n not in changes_defined(changes)][:MAX_NAMES]
        if not names:
            return []
        alternation = "|".join(names)
        patterns = [
            rf"({_DEF_KEYWORDS})[[:space:]]+(\([^)]*\)[[:space:]]*)?[*&]?({alternation})",
            rf"^[[:space:]]*(export[[:space:]]+)?({alternation})[[:space:]]*(:[^=]*)?=",
            rf"[[:alnum:]_>*&]][[:space:]]+[*&]?({alternation})[[:space:]]*\(",
            rf"#define[[:space:]]+({alternation})",
        ]
        hits = [
            h
            for h in self.view.grep(patterns, limit=MAX_GREP_HITS, word=False, regex=True)
            if h.path not in used.values()
        ]
        self._load(h.path for h in hits)
        found: dict[str, list[tuple[str, Definition]]] = {}
        for path in dict.fromkeys(h.path for h in hits):
            parsed = self._parsed.get(path)
            if parsed is None:
                continue
            for d in parsed.definitions:
                if d.name in used and d.kind != "object":
                    found.setdefault(d.name, []).append((path, d))
        groups: list[list[ContextItem]] = []
        for name in names:
            candidates = found.get(name)
            if not candidates:
                continue
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
            end = min(d.end_line, d.start_line + DEFINITION_LINES - 1)
            groups.append([ContextItem.build(path, lines, d.start_line, end, "definition", name)])
        return groups

    def _load(self, paths: Iterable[str]) -> None:
        """Read and parse the files among ``paths`` not seen yet, in one read."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._parsed]
        wanted = wanted[: max(0, MAX_FILES_PARSED - len(self._parsed))]
        if not wanted:
            return
        for path, text in self.view.read(wanted).items():
            syntax = FileSyntax.from_source(path, text)
            self._parsed[path] = _Parsed(
                syntax.lines, syntax.definitions(), syntax.references(), syntax.parsed
            )


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


def changes_defined(changes: SegmentChanges) -> frozenset[str]:
    """Names the segment's changed files define themselves (their definitions are in view)."""
    return frozenset(d.name for _, d in changes.changed)


def _names(names: Iterable[str]) -> list[str]:
    return sorted(
        {n for n in names if _IDENT.match(n) and not (n.startswith("__") and n.endswith("__"))}
    )


def _calls_on_line(parsed: _Parsed, hit: GrepHit, name: str) -> bool:
    if parsed.parsed:
        return any(
            r.line == hit.line and r.name == name and r.kind == "call" for r in parsed.references
        )
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
