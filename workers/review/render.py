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
from workers.review.select import Inline, Listed, Plan, SkipReason
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


def _counts_line(plan: Plan[Any]) -> str:
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
    return text


def _reviewed_line(summary: ReviewSummary) -> str:
    scope = f" ({summary.scope_note})" if summary.scope_note else ""
    return (
        f"Reviewed {code_span(summary.head_sha[:12])}{scope}: {summary.files_reviewed} "
        f"{'file' if summary.files_reviewed == 1 else 'files'}, {summary.lines_reviewed} changed "
        f"lines, {summary.segments_reviewed} of {summary.segments_total} segments."
    )


def _usage_line(summary: ReviewSummary) -> str:
    usage = summary.usage
    return (
        f"Model {code_span(summary.model)} · {usage.input_tokens:,} input tokens "
        f"({usage.cached_input_tokens:,} cached) · {usage.output_tokens:,} output tokens · "
        f"${usage.cost_usd:,.4f}"
    )


def _listed_entry(item: Listed, allowed_host: str) -> str:
    title = one_line(item.finding.title, allowed_host=allowed_host)
    where = location(item.path, item.line)
    extra = ""
    if item.reason == "over_cap":
        extra = " (inline comment limit reached)"
    elif item.reason == "low_confidence":
        extra = f" (model confidence {item.finding.confidence:.2f}, below the inline threshold)"
    elif item.reason == "unanchored" and item.detail:
        extra = f" ({one_line(item.detail, allowed_host=allowed_host, max_chars=160)})"
    body = sanitize(item.finding.body, allowed_host=allowed_host, max_bytes=MAX_LISTED_BODY_BYTES)
    quoted = "\n".join(f"  > {line}" if line else "  >" for line in body.strip().split("\n"))
    head = f"- {badge(item.finding.priority)} · {title} — {where}{extra}"
    return f"{head}\n{quoted}" if body.strip() else head


def _not_reviewed_entry(item: NotReviewed, allowed_host: str) -> str:
    where = code_span(item.path)
    if item.lines is not None:
        where += f" lines {item.lines[0]}–{item.lines[1]}"
    detail = ""
    if item.detail:
        detail = f" ({one_line(item.detail, allowed_host=allowed_host, max_chars=160)})"
    return f"- {where} — {_KIND_LABELS[item.kind]}{detail}"


def _not_reviewed_counts(items: Iterable[NotReviewed], prefix: str = "Not reviewed: ") -> str:
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
class _Section:
    heading: str
    lead: str | None
    entries: tuple[str, ...]


def _fit(fixed_head: str, sections: list[_Section], fixed_tail: str, budget: int) -> str:
    """Join sections, leaving out trailing entries that do not fit; each section that
    lost entries says how many."""
    used = byte_length(fixed_head) + byte_length(fixed_tail) + 64
    out: list[str] = [fixed_head]
    for section in sections:
        if not section.entries and section.lead is None:
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
    head = "\n\n".join(["### Codex review", _reviewed_line(summary), _counts_line(plan)])
    marker = ReviewMarker(
        head_sha=summary.head_sha,
        base_sha=summary.base_sha,
        fingerprints=plan.posted_fingerprints,
    ).render()
    tail = f"<sub>{_usage_line(summary)}</sub>\n\n{marker}"
    placed = tuple(
        _listed_entry(item, allowed_host) for item in plan.listed if item.reason != "unanchored"
    )
    loose = tuple(
        _listed_entry(item, allowed_host) for item in plan.listed if item.reason == "unanchored"
    )
    skipped = tuple(_not_reviewed_entry(item, allowed_host) for item in summary.not_reviewed)
    sections = [
        _Section("#### Other findings", None, placed),
        _Section("#### Could not be placed on the diff", None, loose),
        _Section(
            "#### Not reviewed",
            _not_reviewed_counts(summary.not_reviewed, "") if summary.not_reviewed else None,
            skipped,
        ),
    ]
    body = _fit(head, sections, tail, BODY_BUDGET)
    if byte_length(body) > BODY_BUDGET:  # only when the fixed parts alone are too long
        body = truncate(body[: -len(tail)], BODY_BUDGET - byte_length(tail) - 2) + "\n\n" + tail
    return body


# -- check run ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckOutput:
    """The ``output`` object of a check run."""

    title: str
    summary: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "summary": self.summary, "text": self.text}


def check_title(summary: ReviewSummary, plan: Plan[Any]) -> str:
    if summary.segments_reviewed == 0:
        return "Nothing reviewed"
    total = len(plan.inline) + len(plan.listed)
    p0 = sum(1 for i in plan.inline if i.anchored.finding.priority == 0) + sum(
        1 for x in plan.listed if x.finding.priority == 0
    )
    noun = "finding" if total == 1 else "findings"
    severe = f" ({p0} P0)" if p0 else ""
    files = f"{summary.files_reviewed} {'file' if summary.files_reviewed == 1 else 'files'}"
    return f"{total} new {noun}{severe} in {files}"


def render_check_output(
    summary: ReviewSummary,
    plan: Plan[Any],
    *,
    conclusion: str,
    allowed_host: str = "github.com",
) -> CheckOutput:
    """Title, summary and text of the completed check run, each within GitHub's limit."""
    lines = [
        _reviewed_line(summary),
        _counts_line(plan),
        f"Reviewed commit: {code_span(summary.head_sha)}"
        + (f" against base {code_span(summary.base_sha)}" if summary.base_sha else ""),
        _usage_line(summary) + ".",
        f"Conclusion: {conclusion}.",
    ]
    if summary.not_reviewed:
        lines.append(_not_reviewed_counts(summary.not_reviewed))
    if summary.segments_reviewed == 0:
        lines.append("Nothing was reviewed, so this check says nothing about the code.")
    text_sections = [
        _Section(
            "#### Inline findings",
            None,
            tuple(
                f"- {badge(i.anchored.finding.priority)} · "
                f"{one_line(i.anchored.finding.title, allowed_host=allowed_host)} — "
                f"{location(i.anchored.path, i.anchored.line)}"
                for i in plan.inline
            ),
        ),
        _Section(
            "#### Findings in the review body",
            None,
            tuple(
                f"- {badge(x.finding.priority)} · "
                f"{one_line(x.finding.title, allowed_host=allowed_host)} — "
                f"{location(x.path, x.line)}"
                for x in plan.listed
            ),
        ),
        _Section(
            "#### Not reviewed",
            None,
            tuple(_not_reviewed_entry(item, allowed_host) for item in summary.not_reviewed),
        ),
    ]
    text = _fit("", text_sections, "", CHECK_BUDGET).strip()
    return CheckOutput(
        title=truncate(check_title(summary, plan), MAX_TITLE_CHARS, "…"),
        summary=truncate("\n\n".join(lines), CHECK_BUDGET),
        text=text or "Nothing to list.",
    )


def render_skipped_check(reason: SkipReason) -> CheckOutput:
    """Output for a check run completed without a review (conclusion ``skipped``)."""
    return CheckOutput(
        title="Not reviewed",
        summary=f"This pull request was not reviewed: {reason.message}.",
        text="",
    )


# -- other messages -----------------------------------------------------------


def load_template(name: str) -> str:
    """The text of ``workers/templates/<name>``."""
    return resources.files("workers").joinpath("templates", name).read_text(encoding="utf-8")


def help_text() -> str:
    """The answer to ``/codex help`` (and to unknown commands)."""
    return load_template("help.md")
