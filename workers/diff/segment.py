"""Plan a review: filter files, render hunks compactly, pack them into token-budgeted segments.

The line format the model sees (each diff line once, no repeated context)::

    === path/to/file.py (renamed from old.py)
    @@
    3:class Store:
    40:    def put(self, key):
    42 context line
    43+added line
    -deleted line (no number: it cannot be cited)

``N:`` lines are enclosing signatures outside the hunk (shown for orientation,
not commentable); ``N `` and ``N+`` lines carry the new-file number to cite.

Token counts are exact ``o200k_base`` counts of the rendered text. Every
rendered line starts with a character that is neither whitespace nor ``/`` and
ends with ``\\n``; under o200k's pre-tokenizer no token then spans two lines,
so a text's count is the sum of its lines' counts, and the number prefix
(``\\p{N}{1,3}`` pieces) counts apart from the rest. Planning therefore
encodes each distinct line body once.

Determinism: files are taken in path order, hunks in file order; nothing
depends on hashing or timing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from workers.diff import tokens
from workers.diff.context import FileScopes
from workers.diff.filters import FileFilter, skip_reason
from workers.diff.patch import DiffLine, FileDiff, Hunk

DEFAULT_SEGMENT_TOKENS: Final = 12_000
DEFAULT_TOTAL_TOKENS: Final = 600_000


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What to review and how much. Token budgets count the rendered diff body only."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    segment_tokens: int = DEFAULT_SEGMENT_TOKENS
    total_tokens: int = DEFAULT_TOTAL_TOKENS
    context: bool = True


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """The part of one file a segment covers: hunk indices, and for a split hunk its lines."""

    path: str
    status: str
    hunks: tuple[int, ...]
    changed_lines: int
    line_range: tuple[int, int] | None = None  # (first, last) line index within a split hunk


@dataclass(frozen=True, slots=True)
class Segment:
    """One prompt's worth of diff."""

    index: int
    files: tuple[SegmentFile, ...]
    text: str
    tokens: int
    changed_lines: int
    context_lines: int

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str
    changed_lines: int


@dataclass(frozen=True, slots=True)
class NotReviewed:
    segment: Segment
    reason: str


@dataclass(frozen=True, slots=True)
class Totals:
    files: int
    reviewable_files: int
    changed_lines: int
    covered_changed_lines: int
    diff_tokens: int
    prompt_tokens: int

    @property
    def coverage(self) -> float:
        return 1.0 if self.changed_lines == 0 else self.covered_changed_lines / self.changed_lines


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    segments: tuple[Segment, ...]
    skipped: tuple[Skipped, ...]
    not_reviewed: tuple[NotReviewed, ...]
    totals: Totals
    files: Mapping[str, FileDiff] = field(default_factory=dict, compare=False, repr=False)


# --- rendering -------------------------------------------------------------------------------


def file_header(diff: FileDiff) -> str:
    extra = ""
    if diff.status in ("renamed", "copied") and diff.old_path:
        extra = f" ({diff.status} from {diff.old_path})"
    elif diff.is_new:
        extra = " (new file)"
    # A path can hold a newline; the header must stay on one line.
    return f"=== {_one_line(diff.path)}{extra}\n"


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _body(line: DiffLine) -> str:
    """The line without its number: what follows the digits, newline included."""
    if line.kind == "-":
        return f"-{line.text}\n"
    return f"{line.kind}{line.text}\n"


def render_line(line: DiffLine) -> str:
    if line.kind == "-":
        return _body(line)
    return f"{line.new}{_body(line)}"


def _scope_line(number: int, text: str) -> str:
    return f"{number}:{text}\n"


@dataclass(slots=True)
class _Counter:
    """Exact counts through the additivity of line tokens (see the module docstring)."""

    cache: dict[str, int] = field(default_factory=dict)

    def prime(self, texts: Iterable[str]) -> None:
        missing = [t for t in texts if t not in self.cache]
        if missing:
            self.cache.update(tokens.count_many(missing))

    def number(self, n: int) -> int:
        digits = len(str(n))
        return (digits + 2) // 3

    def line(self, line: DiffLine) -> int:
        count = self.cache[_body(line)]
        return count if line.kind == "-" else count + self.number(line.new or 0)

    def text(self, text: str) -> int:
        if text not in self.cache:
            self.cache[text] = tokens.count(text)
        return self.cache[text]


@dataclass(frozen=True, slots=True)
class _Block:
    """A rendered piece of one file: a hunk or part of one, with its enclosing signatures."""

    path: str
    hunk: int
    text: str
    tokens: int
    changed: int
    context_lines: int
    line_range: tuple[int, int] | None


def _blocks_for_hunk(
    diff: FileDiff,
    index: int,
    hunk: Hunk,
    scopes: FileScopes | None,
    counter: _Counter,
    budget: int,
) -> list[_Block]:
    """One block, or several when the hunk alone is over ``budget``."""
    costs = [counter.line(line) for line in hunk.lines]
    header_cost = counter.text("@@\n")
    if header_cost + sum(costs) + _scope_cost(hunk, 0, scopes, counter)[1] <= budget:
        return [_block(diff, index, hunk, 0, len(hunk.lines), scopes, counter, costs, None)]
    pieces: list[_Block] = []
    start = 0
    while start < len(hunk.lines):
        used = header_cost + _scope_cost(hunk, start, scopes, counter)[1]
        end = start
        while end < len(hunk.lines) and (end == start or used + costs[end] <= budget):
            used += costs[end]
            end += 1
        if end < len(hunk.lines):
            end = _boundary(hunk.lines, start, end)
        pieces.append(
            _block(diff, index, hunk, start, end, scopes, counter, costs, (start, end - 1))
        )
        start = end
    return pieces


def _boundary(lines: Sequence[DiffLine], start: int, end: int) -> int:
    """A good place to cut ``lines[start:end]`` short: after a blank line, else at the
    least indented line, searched in the last quarter so pieces stay large."""
    lowest = start + (end - start) * 3 // 4
    best, best_indent = end, None
    for i in range(end - 1, max(lowest, start + 1) - 1, -1):
        text = lines[i].text
        if not lines[i - 1].text.strip() and text.strip():
            return i
        if text.strip():
            indent = len(text) - len(text.lstrip())
            if best_indent is None or indent < best_indent:
                best, best_indent = i, indent
    return best


def _scope_cost(
    hunk: Hunk, start: int, scopes: FileScopes | None, counter: _Counter
) -> tuple[list[str], int]:
    if scopes is None:
        return [], 0
    first = next((ln.new for ln in hunk.lines[start:] if ln.new is not None), None)
    if first is None:
        first = hunk.new_start
    anchor = next(
        (ln.new or ln.old or 0 for ln in hunk.lines[start:] if ln.kind != " "),
        first,
    )
    anchor = max(anchor, first) if hunk.new_len else first
    rendered = [_scope_line(n, text) for n, text in scopes.enclosing(anchor) if n < first]
    counter.prime(rendered)
    return rendered, sum(counter.text(r) for r in rendered)


def _block(
    diff: FileDiff,
    index: int,
    hunk: Hunk,
    start: int,
    end: int,
    scopes: FileScopes | None,
    counter: _Counter,
    costs: Sequence[int],
    line_range: tuple[int, int] | None,
) -> _Block:
    scope_lines, scope_cost = _scope_cost(hunk, start, scopes, counter)
    header = "@@\n"
    if not scope_lines and hunk.section and start == 0:
        header = f"@@ {_one_line(hunk.section)}\n"
    lines = hunk.lines[start:end]
    text = header + "".join(scope_lines) + "".join(render_line(ln) for ln in lines)
    return _Block(
        path=diff.path,
        hunk=index,
        text=text,
        tokens=counter.text(header) + scope_cost + sum(costs[start:end]),
        changed=sum(1 for ln in lines if ln.kind != " "),
        context_lines=len(scope_lines),
        line_range=line_range,
    )


# --- packing ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    parts: list[tuple[FileDiff, list[_Block]]] = field(default_factory=list)
    tokens: int = 0


def _file_units(
    diff: FileDiff, blocks: list[_Block], header_cost: int, budget: int
) -> list[list[_Block]]:
    """Consecutive blocks of one file, split only when the file is over ``budget``."""
    units: list[list[_Block]] = [[]]
    used = header_cost
    for block in blocks:
        if units[-1] and used + block.tokens > budget:
            units.append([])
            used = header_cost
        units[-1].append(block)
        used += block.tokens
    return units


def _segment(index: int, parts: list[tuple[FileDiff, list[_Block]]], tokens_: int) -> Segment:
    text = "".join(file_header(diff) + "".join(b.text for b in blocks) for diff, blocks in parts)
    files = tuple(
        SegmentFile(
            path=diff.path,
            status=diff.status,
            hunks=tuple(dict.fromkeys(b.hunk for b in blocks)),
            changed_lines=sum(b.changed for b in blocks),
            line_range=blocks[0].line_range if len(blocks) == 1 else None,
        )
        for diff, blocks in parts
    )
    return Segment(
        index=index,
        files=files,
        text=text,
        tokens=tokens_,
        changed_lines=sum(f.changed_lines for f in files),
        context_lines=sum(b.context_lines for _, blocks in parts for b in blocks),
    )


def _raw_tokens(diffs: Sequence[FileDiff], counter: _Counter) -> int:
    """Tokens of the files' unified diff with git headers, as a reviewer would paste it."""
    total = 0
    for diff in diffs:
        old = diff.old_path or diff.path
        header = f"diff --git a/{old} b/{diff.path}\n--- a/{old}\n+++ b/{diff.path}\n"
        total += counter.text(header)
        for hunk in diff.hunks:
            total += counter.text(f"{hunk.header} {hunk.section}\n".replace(" \n", "\n"))
            total += sum(counter.cache[_raw(line)] for line in hunk.lines)
    return total


def _raw(line: DiffLine) -> str:
    return f"{line.kind}{line.text}\n"


def plan_review(
    files: Sequence[FileDiff],
    head_contents: Mapping[str, str],
    options: PlanOptions,
) -> ReviewPlan:
    """Decide what to review and split it into segments within the token budgets."""
    rules = FileFilter.from_globs(options.include, options.exclude)
    ordered = sorted(files, key=lambda f: (f.path, f.old_path or ""))
    reviewable: list[FileDiff] = []
    skipped: list[Skipped] = []
    for diff in ordered:
        reason = skip_reason(diff, head_contents.get(diff.path), rules)
        if reason is None:
            reviewable.append(diff)
        else:
            skipped.append(Skipped(diff.path, reason, diff.changed))

    counter = _Counter()
    counter.prime(
        text
        for diff in reviewable
        for hunk in diff.hunks
        for line in hunk.lines
        for text in (_body(line), _raw(line))
    )
    budget = options.segment_tokens
    units: list[tuple[FileDiff, list[_Block], int]] = []
    kept: list[FileDiff] = []
    for diff in reviewable:
        content = head_contents.get(diff.path)
        scopes = (
            FileScopes.from_content(diff.path, content)
            if options.context and content is not None
            else None
        )
        header_cost = counter.text(file_header(diff))
        if any(counter.line(ln) + header_cost > budget for h in diff.hunks for ln in h.lines):
            skipped.append(
                Skipped(diff.path, "a line is longer than the segment budget", diff.changed)
            )
            continue
        kept.append(diff)
        blocks = [
            block
            for index, hunk in enumerate(diff.hunks)
            for block in _blocks_for_hunk(diff, index, hunk, scopes, counter, budget - header_cost)
        ]
        for unit in _file_units(diff, blocks, header_cost, budget):
            units.append((diff, unit, header_cost + sum(b.tokens for b in unit)))

    segments: list[Segment] = []
    current = _Open()
    for diff, unit, cost in units:
        if current.parts and current.tokens + cost > budget:
            segments.append(_segment(len(segments), current.parts, current.tokens))
            current = _Open()
        current.parts.append((diff, unit))
        current.tokens += cost
    if current.parts:
        segments.append(_segment(len(segments), current.parts, current.tokens))

    reviewed: list[Segment] = []
    not_reviewed: list[NotReviewed] = []
    spent = 0
    for segment in segments:
        if spent + segment.tokens > options.total_tokens:
            reason = f"over the total budget of {options.total_tokens} prompt tokens"
            not_reviewed.append(NotReviewed(segment, reason))
        else:
            reviewed.append(segment)
            spent += segment.tokens

    skipped.sort(key=lambda s: s.path)
    totals = Totals(
        files=len(files),
        reviewable_files=len(kept),
        changed_lines=sum(d.changed for d in reviewable),
        covered_changed_lines=sum(s.changed_lines for s in reviewed),
        diff_tokens=_raw_tokens(reviewable, counter),
        prompt_tokens=spent,
    )
    return ReviewPlan(
        segments=tuple(reviewed),
        skipped=tuple(skipped),
        not_reviewed=tuple(not_reviewed),
        totals=totals,
        files={d.path: d for d in files},
    )
