"""Render what the review posts: inline comments, the review body, the check-run output.

Every piece of model text (titles, bodies, reasons) goes through the
sanitiser; paths and SHAs are shown as code spans. Bodies are measured in
UTF-8 bytes and kept well under GitHub's limits (65,536 characters for a
comment or review body, 65,535 for each check-run output field): when a list
does not fit, entries are left out and the body says how many, while the
counts at the top stay exact and the hidden marker always comes last, whole.

Static strings are English; the model writes its prose in the configured
language.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, Final, Literal

from workers.findings import Finding
from workers.review.marker import ReviewMarker, comment_marker
from workers.review.select import Inline, Listed, Plan, Unplaced
from workers.sanitize import byte_length, sanitize, sanitize_code, truncate

GITHUB_BODY_LIMIT: Final = 65_536
GITHUB_CHECK_OUTPUT_LIMIT: Final = 65_535
BODY_BUDGET: Final = 60_000
CHECK_BUDGET: Final = 60_000
MAX_TITLE_CHARS: Final = 200
MAX_SUGGESTION_BYTES: Final = 20_000
MAX_LISTED_BODY_BYTES: Final = 600

_BACKTICKS: Final = re.compile(r"`+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


# -- small pieces -------------------------------------------------------------


def fence_for(code: str) -> str:
    """A backtick fence longer than any backtick run in ``code`` (at least three)."""
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    return "`" * max(3, longest + 1)


def suggestion_block(code: str) -> str:
    """A ```suggestion block whose content is exactly ``code`` (one final newline is
    the line end of the last line, not an extra empty line)."""
    code = code.removesuffix("\n")
    fence = fence_for(code)
    content = f"{code}\n" if code else ""
    return f"{fence}suggestion\n{content}{fence}"


def code_span(text: str, *, max_chars: int = 300) -> str:
    """``text`` (a path, a SHA) as one inline code span that nothing inside can break."""
    text = _CONTROL.sub(" ", text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    ticks = "`" * (max((len(r) for r in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def one_line(text: str, *, allowed_host: str, max_chars: int = MAX_TITLE_CHARS) -> str:
    """Model text made safe and flattened to one line (titles, reasons)."""
    flat = " ".join(sanitize(text, allowed_host=allowed_host, max_bytes=4 * max_chars).split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1] + "…"


def badge(priority: int) -> str:
    return f"**P{priority}**"


def location(path: str, line: int | None) -> str:
    return code_span(path if line is None else f"{path}:{line}")


# -- inline comment -----------------------------------------------------------


def render_comment(
    finding: Finding,
    *,
    fingerprint: str,
    suggestion: str | None,
    allowed_host: str = "github.com",
) -> str:
    """The body of one inline comment: badge and title, body, suggestion, marker.

    ``finding`` should carry the anchored path and lines (``render_inline`` does
    this); its marker copy is what ``/codex fix`` reads back. ``suggestion`` is
    the anchor engine's checked replacement (``None`` when there is none or it
    did not apply); it is left out when it cannot be posted verbatim or is too long.
    """
    title = one_line(finding.title, allowed_host=allowed_host)
    head = f"{badge(finding.priority)} · {title}"
    body = sanitize(finding.body, allowed_host=allowed_host, max_bytes=BODY_BUDGET // 2).strip()
    quote = finding.quote if sanitize_code(finding.quote) is not None else ""
    safe = replace(finding, title=title, body=body, quote=quote, suggestion=None)
    marker = comment_marker(fingerprint, safe)
    block = ""
    code = sanitize_code(suggestion) if suggestion is not None else None
    if code is not None and byte_length(code) <= MAX_SUGGESTION_BYTES:
        block = suggestion_block(code)
    room = BODY_BUDGET - byte_length(head) - byte_length(block) - byte_length(marker) - 16
    parts = [head, truncate(body, max(room, 0)), block, marker]
    return "\n\n".join(part for part in parts if part)


def render_inline(item: Inline[Any], *, allowed_host: str = "github.com") -> str:
    """``render_comment`` for a planned inline finding, with its anchored place."""
    anchored = item.anchored
    start = anchored.start_line if anchored.start_line is not None else anchored.line
    placed = replace(anchored.finding, path=anchored.path, line_start=start, line_end=anchored.line)
    return render_comment(
        placed,
        fingerprint=item.fingerprint,
        suggestion=anchored.suggestion,
        allowed_host=allowed_host,
    )


# -- review body --------------------------------------------------------------

NotReviewedKind = Literal[
    "filtered", "no_patch", "budget", "model_error", "incomplete", "too_large", "other"
]

_KIND_LABELS: Final[dict[str, str]] = {
    "filtered": "excluded by the include/exclude settings",
    "no_patch": "no diff (binary, or too large for GitHub to show)",
    "budget": "beyond this review's budget",
    "model_error": "the model call failed",
    "incomplete": "the model's answer was cut off at its output limit",
    "too_large": "too large to review",
    "other": "not reviewed",
}
_KIND_COUNTS: Final[dict[str, str]] = {
    "filtered": "{n} {noun} excluded by the include/exclude settings",
    "no_patch": "{n} {noun} without a diff (binary, or too large for GitHub to show)",
    "budget": "{n} {noun} beyond this review's budget",
    "model_error": "{n} {noun} whose model call failed",
    "incomplete": "{n} {noun} whose model answer was cut off at its output limit",
    "too_large": "{n} {noun} too large to review",
    "other": "{n} other {noun}",
}


@dataclass(frozen=True, slots=True)
class NotReviewed:
    """A file or a part of one that this review did not look at, and why.

    ``lines`` is the new-file line range of a skipped segment, ``None`` for a whole
    file; ``detail`` adds specifics (for example the model error kind).
    """

    path: str
    kind: NotReviewedKind
    lines: tuple[int, int] | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class CostLine:
    """Tokens and cost of one run as the review body and check run state them."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class ReviewSummary:
    """Facts about one review run, gathered by the review task.

    ``scope_note`` says what was compared (for example "changes since
    `abc123`"); ``repeated`` is how many findings were not posted again.
    """

    head_sha: str
    base_sha: str | None
    model: str
    files_reviewed: int
    lines_reviewed: int
    segments_reviewed: int
    segments_total: int
    usage: CostLine
    not_reviewed: tuple[NotReviewed, ...] = ()
    scope_note: str | None = None


def counts_line(plan: Plan[Any]) -> str:
    findings = [i.anchored.finding for i in plan.inline] + [x.finding for x in plan.listed]
    if not findings:
        text = "No new findings."
    else:
        by = Counter(f.priority for f in findings)
        parts = " · ".join(f"{by[p]} P{p}" for p in sorted(by))
        noun = "finding" if len(findings) == 1 else "findings"
        below = len(plan.listed)
        text = (
            f"**{len(findings)} new {noun}:** {parts} — {len(plan.inline)} inline, {below} below."
        )
    if plan.repeated:
        many = len(plan.repeated)
        text += f" {many} already reported earlier {'was' if many == 1 else 'were'} not repeated."
    if plan.unplaced:
        many = len(plan.unplaced)
        text += (
            f" {many} more could not be placed on the diff and "
            f"{'is' if many == 1 else 'are'} not counted (listed apart)."
        )
    return text


def reviewed_line(summary: ReviewSummary) -> str:
    scope = f" ({summary.scope_note})" if summary.scope_note else ""
    return (
        f"Reviewed {code_span(summary.head_sha[:12])}{scope}: {summary.files_reviewed} "
        f"{'file' if summary.files_reviewed == 1 else 'files'}, {summary.lines_reviewed} changed "
        f"lines, {summary.segments_reviewed} of {summary.segments_total} segments."
    )


def usage_line(summary: ReviewSummary) -> str:
    usage = summary.usage
    return (
        f"Model {code_span(summary.model)} · {usage.input_tokens:,} input tokens "
        f"({usage.cached_input_tokens:,} cached) · {usage.output_tokens:,} output tokens · "
        f"${usage.cost_usd:,.4f}"
    )


def _listed_entry(item: Listed | Unplaced, allowed_host: str) -> str:
    title = one_line(item.finding.title, allowed_host=allowed_host)
    where = location(item.path, item.line)
    extra = ""
    if isinstance(item, Unplaced):
        reason = one_line(item.reason, allowed_host=allowed_host, max_chars=160)
        extra = f" (cited by the model; not placed: {reason})"
    elif item.reason == "over_cap":
        extra = " (inline comment limit reached)"
    elif item.reason == "low_confidence":
        extra = f" (model confidence {item.finding.confidence:.2f}, below the inline threshold)"
    body = sanitize(item.finding.body, allowed_host=allowed_host, max_bytes=MAX_LISTED_BODY_BYTES)
    quoted = "\n".join(f"  > {line}" if line else "  >" for line in body.strip().split("\n"))
    head = f"- {badge(item.finding.priority)} · {title} — {where}{extra}"
    return f"{head}\n{quoted}" if body.strip() else head


def not_reviewed_entry(item: NotReviewed, allowed_host: str) -> str:
    where = code_span(item.path)
    if item.lines is not None:
        where += f" lines {item.lines[0]}–{item.lines[1]}"
    detail = ""
    if item.detail:
        detail = f" ({one_line(item.detail, allowed_host=allowed_host, max_chars=160)})"
    return f"- {where} — {_KIND_LABELS[item.kind]}{detail}"


def not_reviewed_counts(items: Iterable[NotReviewed], prefix: str = "Not reviewed: ") -> str:
    """One exact count per kind ("2 files excluded ...; 3 segments beyond ..."), which
    stays true when the itemised list below it is cut short."""
    groups: dict[str, list[NotReviewed]] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    parts = []
    for kind in _KIND_COUNTS:
        group = groups.get(kind, [])
        if not group:
            continue
        whole = sum(item.lines is None for item in group)
        noun = "file" if whole == len(group) else "segment" if whole == 0 else "part"
        noun += "" if len(group) == 1 else "s"
        parts.append(_KIND_COUNTS[kind].format(n=len(group), noun=noun))
    text = "; ".join(parts) + "."
    return prefix + text if prefix else text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    lead: str | None
    entries: tuple[str, ...]


def fit_sections(fixed_head: str, sections: list[Section], fixed_tail: str, budget: int) -> str:
    """Join sections, leaving out trailing entries that do not fit; each section that
    lost entries says how many."""
    used = byte_length(fixed_head) + byte_length(fixed_tail) + 64
    out: list[str] = [fixed_head]
    for section in sections:
        if not section.entries:
            continue
        block = [section.heading] + ([section.lead] if section.lead else [])
        used += sum(byte_length(part) + 2 for part in block)
        kept: list[str] = []
        for entry in section.entries:
            cost = byte_length(entry) + 1
            if used + cost + 80 > budget:  # 80: room for the "not shown" note
                break
            kept.append(entry)
            used += cost
        omitted = len(section.entries) - len(kept)
        if omitted:
            note = f"- … and {omitted} more not shown (size limit)"
            kept.append(note)
            used += byte_length(note) + 1
        out.append("\n\n".join(block) + ("\n\n" + "\n".join(kept) if kept else ""))
    out.append(fixed_tail)
    return "\n\n".join(out)


def render_review_body(
    summary: ReviewSummary, plan: Plan[Any], *, allowed_host: str = "github.com"
) -> str:
    """The review body: reviewed scope, counts, findings not inline, findings not
    placed, what was not reviewed, usage, then the hidden marker."""
    head = "\n\n".join(["### Codex review", reviewed_line(summary), counts_line(plan)])
    marker = ReviewMarker(
        head_sha=summary.head_sha,
        base_sha=summary.base_sha,
        fingerprints=plan.posted_fingerprints,
    ).render()
    tail = f"<sub>{usage_line(summary)}</sub>\n\n{marker}"
    placed = tuple(_listed_entry(item, allowed_host) for item in plan.listed)
    loose = tuple(_listed_entry(item, allowed_host) for item in plan.unplaced)
    skipped = tuple(not_reviewed_entry(item, allowed_host) for item in summary.not_reviewed)
    sections = [
        Section("#### Other findings", None, placed),
        Section(
            "#### Could not be placed on the diff (not counted)",
            "The model cited these where they could not be placed; check them by hand.",
            loose,
        ),
        Section(
            "#### Not reviewed",
            not_reviewed_counts(summary.not_reviewed, "") if summary.not_reviewed else None,
            skipped,
        ),
    ]
    body = fit_sections(head, sections, tail, BODY_BUDGET)
    if byte_length(body) > BODY_BUDGET:  # only when the fixed parts alone are too long
        body = truncate(body[: -len(tail)], BODY_BUDGET - byte_length(tail) - 2) + "\n\n" + tail
    return body


# -- other messages -----------------------------------------------------------


def load_template(name: str) -> str:
    """The text of ``workers/templates/<name>``."""
    return resources.files("workers").joinpath("templates", name).read_text(encoding="utf-8")


def help_text() -> str:
    """The answer to ``/codex help`` (and to unknown commands)."""
    return load_template("help.md")
