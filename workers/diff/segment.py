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
In a new file every line is added, so its lines are ``N `` without the ``+``
(a ``+`` costs a token on most lines). Blank context lines at either end of a
hunk are left out. With the git and hunk headers gone, the prompt stays under
the raw diff's token count although every shown line carries its number.

Token counts are exact ``o200k_base`` counts of the rendered text. Every
rendered line starts with a character that is neither whitespace nor ``/`` and
ends with ``\\n``; under o200k's pre-tokenizer no token then spans two lines,
so a text's count is the sum of its lines' counts, and the number prefix
(``\\p{N}{1,3}`` pieces) counts apart from the rest. Planning therefore encodes
each hunk's rendered lines once, as one string; only a hunk over the segment
budget is counted line by line to find where to cut it. ``Totals.diff_tokens``
(the raw diff, summed line by line) is derived from the same counts by taking
the line numbers off; only new files' ``+`` lines are encoded a second time.

Enclosing signatures come from ``workers.diff.context``, computed only for
files with a hunk below line 1.

Determinism: files are taken in path order, hunks in file order; nothing
depends on hashing or timing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from workers.diff import tokens
from workers.diff.context import FileScopes
from workers.diff.filters import Skipped, skip_reason
from workers.diff.globs import PathRules
from workers.diff.patch import DiffLine, FileDiff, Hunk
from workers.diff.plans import (
    NotReviewed,
    PlanOptions,
    ReviewPlan,
    Segment,
    SegmentFile,
    Totals,
)
from workers.prompts.names import shown_name

_TOO_LONG: Final = "a line is longer than the segment budget"


# --- rendering -------------------------------------------------------------------------------


def file_header(diff: FileDiff) -> str:
    extra = ""
    if diff.status in ("renamed", "copied") and diff.old_path:
        extra = f" ({diff.status} from {shown_name(diff.old_path)})"
    elif diff.is_new:
        extra = " (new file)"
    # A path can hold a newline, a backtick or a fake block closer: odd characters are
    # shown escaped, so the header stays one line of plain text.
    return f"=== {shown_name(diff.path)}{extra}\n"


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _scope_line(number: int, text: str) -> str:
    return f"{number}:{text}\n"


def _number_tokens(first: int, last: int) -> int:
    """Tokens of the line numbers ``first..last``: o200k splits digit runs into threes."""
    total = 0
    low, width = 1, 1
    while low <= last:
        high = low * 10 - 1
        if high >= first:
            total += (min(high, last) - max(low, first) + 1) * ((width + 2) // 3)
        low, width = low * 10, width + 1
    return total


@dataclass(slots=True)
class _Counter:
    """Exact counts, memoised for the short strings (headers, signatures) that repeat."""

    cache: dict[str, int] = field(default_factory=dict)

    def text(self, text: str) -> int:
        found = self.cache.get(text)
        if found is None:
            found = self.cache[text] = tokens.count(text)
        return found

    def lines(self, texts: Iterable[str]) -> int:
        """Tokens of the concatenation of whole rendered lines (they count apart)."""
        return sum(self.text(text) for text in texts)


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


@dataclass(slots=True)
class _FileRender:
    """What rendering one file needs: its diff, head content, and scopes built on demand."""

    diff: FileDiff
    content: str | None
    counter: _Counter
    new_file: bool
    scopes: FileScopes | None = None

    def enclosing(self, hunk: Hunk, start: int) -> list[str]:
        """Rendered signature lines above ``hunk.lines[start:]``, outermost first."""
        if self.content is None:
            return []
        lines = hunk.lines
        first = next((ln.new for ln in lines[start:] if ln.new is not None), hunk.new_start)
        if first <= 1:
            return []  # nothing above the first line of the file
        anchor = next((ln.new or ln.old or 0 for ln in lines[start:] if ln.kind != " "), first)
        anchor = max(anchor, first) if hunk.new_len else first
        if self.scopes is None:
            self.scopes = FileScopes.from_content(self.diff.path, self.content)
        return [_scope_line(n, text) for n, text in self.scopes.enclosing(anchor) if n < first]


def _trimmed(lines: Sequence[DiffLine]) -> tuple[int, int]:
    """``(lo, hi)``: the hunk's lines without blank context lines at either end."""
    lo, hi = 0, len(lines)
    while lo < hi and lines[lo].kind == " " and not lines[lo].text.strip():
        lo += 1
    while hi > lo and lines[hi - 1].kind == " " and not lines[hi - 1].text.strip():
        hi -= 1
    return (lo, hi) if lo < hi else (0, len(lines))


def _blocks_for_hunk(
    file: _FileRender, index: int, hunk: Hunk, budget: int
) -> tuple[list[_Block], int] | None:
    """The hunk's blocks (one, or several when it is over ``budget``) and its raw tokens.

    ``None`` when a single line is over ``budget``. The whole block is encoded
    once; lines are counted one by one only for a hunk that has to be split.
    """
    counter = file.counter
    lo, hi = _trimmed(hunk.lines)
    # Lines as the model sees them; a new file's lines are all added and go unmarked.
    plain = file.new_file and [ln.kind for ln in hunk.lines].count("+") == len(hunk.lines)
    if plain:
        rendered = [f"{ln.new} {ln.text}\n" for ln in hunk.lines]
    else:
        rendered = [
            f"-{ln.text}\n" if ln.kind == "-" else f"{ln.new}{ln.kind}{ln.text}\n"
            for ln in hunk.lines
        ]
    body = "".join(rendered[lo:hi])
    scope_lines = file.enclosing(hunk, lo)
    head = _hunk_head(hunk, lo, scope_lines)
    lead = head + "".join(scope_lines)
    body_tokens = tokens.count(body)
    raw = _raw_lines_tokens(counter, hunk, lo, hi, body_tokens, plain)
    total = counter.lines([head, *scope_lines]) + body_tokens
    if total <= budget:
        changed = sum(1 for ln in hunk.lines if ln.kind != " ")
        block = _Block(file.diff.path, index, lead + body, total, changed, len(scope_lines), None)
        return [block], raw
    costs = [tokens.count(text) for text in rendered]
    if max(costs) + counter.text("@@\n") > budget:
        return None
    pieces: list[_Block] = []
    start = lo
    while start < hi:
        scope_lines = file.enclosing(hunk, start)
        head = _hunk_head(hunk, start, scope_lines)
        lead = head + "".join(scope_lines)
        lead_tokens = counter.lines([head, *scope_lines])
        if lead_tokens + costs[start] > budget:
            # Orientation is optional: a line that fits alone goes without it.
            scope_lines, head = [], "@@\n"
            lead, lead_tokens = head, counter.text(head)
        used = lead_tokens
        end = start
        while end < hi and (end == start or used + costs[end] <= budget):
            used += costs[end]
            end += 1
        if end < hi:
            end = _boundary(hunk.lines, start, end)
            used = lead_tokens + sum(costs[start:end])
        piece = hunk.lines[start:end]
        pieces.append(
            _Block(
                path=file.diff.path,
                hunk=index,
                text=lead + "".join(rendered[start:end]),
                tokens=used,
                changed=sum(1 for ln in piece if ln.kind != " "),
                context_lines=len(scope_lines),
                line_range=(start, end - 1),
            )
        )
        start = end
    # The trimmed blank context lines belong to no piece; give the edges to the first and last.
    if lo > 0 or hi < len(hunk.lines):
        first = pieces[0]
        if first.line_range is not None:
            pieces[0] = replace(first, line_range=(0, first.line_range[1]))
        last = pieces[-1]
        if last.line_range is not None:
            pieces[-1] = replace(last, line_range=(last.line_range[0], len(hunk.lines) - 1))
    return pieces, raw


def _hunk_head(hunk: Hunk, start: int, scope_lines: Sequence[str]) -> str:
    if not scope_lines and hunk.section and start == 0:
        return f"@@ {_one_line(hunk.section)}\n"
    return "@@\n"


def _raw_lines_tokens(
    counter: _Counter, hunk: Hunk, lo: int, hi: int, body_tokens: int, plain: bool
) -> int:
    """Tokens of the hunk's lines as a unified diff shows them (``+x``, `` x``, ``-x``).

    Summed line by line, as the prompt counts. Derived from the rendered body
    where that differs only by the line numbers; counted again for a ``plain``
    hunk (a new file's, rendered without its ``+`` marks).
    """
    lines = hunk.lines
    if plain:
        # Every line starts with "+", so the concatenation counts as the sum of its lines.
        return tokens.count("".join(f"{ln.kind}{ln.text}\n" for ln in lines))
    # The RIGHT-side lines of a run of hunk lines have consecutive new numbers.
    right = [ln.new for ln in lines[lo:hi] if ln.new is not None]
    numbers = _number_tokens(right[0], right[-1]) if right else 0
    trimmed = [ln for ln in (*lines[:lo], *lines[hi:])]
    return body_tokens - numbers + sum(counter.text(f"{ln.kind}{ln.text}\n") for ln in trimmed)


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


def _git_header(diff: FileDiff) -> str:
    old = diff.old_path or diff.path
    return f"diff --git a/{old} b/{diff.path}\n--- a/{old}\n+++ b/{diff.path}\n"


def plan_review(
    files: Sequence[FileDiff],
    head_contents: Mapping[str, str],
    options: PlanOptions,
) -> ReviewPlan:
    """Decide what to review and split it into segments within the token budgets."""
    rules = PathRules.compile(options.include, options.exclude)
    ordered = sorted(files, key=lambda f: (f.path, f.old_path or ""))
    reviewable: list[FileDiff] = []
    skipped: list[Skipped] = []
    for diff in ordered:
        skip = skip_reason(diff, head_contents.get(diff.path), rules)
        if skip is None:
            reviewable.append(diff)
        else:
            skipped.append(Skipped(diff.path, skip.text, diff.changed, skip.kind))

    counter = _Counter()
    budget = options.segment_tokens
    units: list[tuple[FileDiff, list[_Block], int]] = []
    kept = 0
    raw_tokens = 0
    for diff in reviewable:
        header = file_header(diff)
        header_cost = counter.text(header)
        file = _FileRender(
            diff,
            head_contents.get(diff.path) if options.context else None,
            counter,
            new_file=diff.is_new,
        )
        blocks: list[_Block] = []
        # Git and hunk headers are whole lines, none starting with a space: one count.
        raw = tokens.count(
            _git_header(diff)
            + "".join(f"{hunk.header} {hunk.section}".rstrip(" ") + "\n" for hunk in diff.hunks)
        )
        for index, hunk in enumerate(diff.hunks):
            made = _blocks_for_hunk(file, index, hunk, budget - header_cost)
            if made is None:
                break
            blocks += made[0]
            raw += made[1]
        else:
            kept += 1
            raw_tokens += raw
            for unit in _file_units(diff, blocks, header_cost, budget):
                units.append((diff, unit, header_cost + sum(b.tokens for b in unit)))
            continue
        skipped.append(Skipped(diff.path, _TOO_LONG, diff.changed, "too_large"))

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
        reviewable_files=kept,
        changed_lines=sum(d.changed for d in reviewable),
        covered_changed_lines=sum(s.changed_lines for s in reviewed),
        diff_tokens=raw_tokens,
        prompt_tokens=spent,
    )
    return ReviewPlan(
        segments=tuple(reviewed),
        skipped=tuple(skipped),
        not_reviewed=tuple(not_reviewed),
        totals=totals,
        files={d.path: d for d in files},
    )
