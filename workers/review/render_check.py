"""The check run's output for a finished review: title, summary and text, each within
GitHub's limit (65,535 characters a field), counting placed findings only. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.review.render import (
    CHECK_BUDGET,
    MAX_TITLE_CHARS,
    ReviewSummary,
    Section,
    badge,
    code_span,
    counts_line,
    fit_sections,
    location,
    not_reviewed_counts,
    not_reviewed_entry,
    one_line,
    reviewed_line,
    usage_line,
)
from workers.review.select import Plan, SkipReason
from workers.sanitize import truncate


@dataclass(frozen=True, slots=True)
class CheckOutput:
    """The ``output`` object of a check run."""

    title: str
    summary: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "summary": self.summary, "text": self.text}


def check_title(summary: ReviewSummary, plan: Plan[Any]) -> str:
    """The title, like "3 new findings (1 P0) in 4 files": placed findings only; the
    unplaced ones are named apart, never counted as new findings."""
    if summary.segments_reviewed == 0:
        return "Nothing reviewed"
    total = len(plan.inline) + len(plan.listed)
    p0 = sum(1 for i in plan.inline if i.anchored.finding.priority == 0) + sum(
        1 for x in plan.listed if x.finding.priority == 0
    )
    noun = "finding" if total == 1 else "findings"
    severe = f" ({p0} P0)" if p0 else ""
    files = f"{summary.files_reviewed} {'file' if summary.files_reviewed == 1 else 'files'}"
    loose = f"; {len(plan.unplaced)} not placed" if plan.unplaced else ""
    return f"{total} new {noun}{severe} in {files}{loose}"


def render_check_output(
    summary: ReviewSummary,
    plan: Plan[Any],
    *,
    conclusion: str,
    allowed_host: str = "github.com",
) -> CheckOutput:
    """Title, summary and text of the completed check run, each within GitHub's limit."""
    lines = [
        reviewed_line(summary),
        counts_line(plan),
        f"Reviewed commit: {code_span(summary.head_sha)}"
        + (f" against base {code_span(summary.base_sha)}" if summary.base_sha else ""),
        usage_line(summary) + ".",
        f"Conclusion: {conclusion}.",
    ]
    if summary.not_reviewed:
        lines.append(not_reviewed_counts(summary.not_reviewed))
    if summary.segments_reviewed == 0:
        lines.append("Nothing was reviewed, so this check says nothing about the code.")
    text_sections = [
        Section(
            "#### Inline findings",
            None,
            tuple(
                f"- {badge(i.anchored.finding.priority)} · "
                f"{one_line(i.anchored.finding.title, allowed_host=allowed_host)} — "
                f"{location(i.anchored.path, i.anchored.line)}"
                for i in plan.inline
            ),
        ),
        Section(
            "#### Findings in the review body",
            None,
            tuple(
                f"- {badge(x.finding.priority)} · "
                f"{one_line(x.finding.title, allowed_host=allowed_host)} — "
                f"{location(x.path, x.line)}"
                for x in plan.listed
            ),
        ),
        Section(
            "#### Could not be placed on the diff (not counted)",
            None,
            tuple(
                f"- {badge(x.finding.priority)} · "
                f"{one_line(x.finding.title, allowed_host=allowed_host)} — cited at "
                f"{location(x.path, x.line)}: {one_line(x.reason, allowed_host=allowed_host)}"
                for x in plan.unplaced
            ),
        ),
        Section(
            "#### Not reviewed",
            None,
            tuple(not_reviewed_entry(item, allowed_host) for item in summary.not_reviewed),
        ),
    ]
    text = fit_sections("", text_sections, "", CHECK_BUDGET).strip()
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
