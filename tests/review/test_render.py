"""Rendering: golden bodies, the fence rule, sanitising, and GitHub's size limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tests.review.doubles import Anchored, Missed
from workers.findings import Finding
from workers.review.config import ConfigErrors
from workers.review.inputs import render_config_errors
from workers.review.marker import ReviewMarker, parse_comment_finding, parse_comment_marker
from workers.review.render import (
    GITHUB_BODY_LIMIT,
    GITHUB_CHECK_OUTPUT_LIMIT,
    CostLine,
    NotReviewed,
    ReviewSummary,
    code_span,
    fence_for,
    help_text,
    render_comment,
    render_inline,
    render_review_body,
    suggestion_block,
)
from workers.review.render_check import render_check_output, render_skipped_check
from workers.review.select import Plan, SkipReason, plan_findings
from workers.sanitize import byte_length

GOLDEN = Path(__file__).parent / "golden"
HEAD = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
BASE = "a" * 40
FP = "0123456789abcdef0123"


def _finding(path: str, line: int, priority: int, title: str, body: str) -> Finding:
    return Finding(path, line, line, f"line {line} of {path}", priority, title, body)


def sample() -> tuple[ReviewSummary, Plan[Anchored]]:
    anchored = [
        Anchored(
            _finding("src/db.py", 42, 0, "SQL built from user input", "Use a parameter."),
            "src/db.py",
            42,
            start_line=41,
            suggestion='cur.execute("SELECT * FROM t WHERE id = %s", (uid,))',
        ),
        Anchored(
            _finding("src/api.py", 7, 1, "Missing auth check", "cc @admin: see /docs."),
            "src/api.py",
            7,
        ),
        Anchored(
            _finding("src/util.py", 3, 3, "Prefer a comprehension", "Style only."), "src/util.py", 3
        ),
    ]
    missed = [Missed(_finding("src/gone.py", 99, 2, "Stale cache", "Clear it."), "quote not found")]
    plan = plan_findings(anchored, missed, min_inline_priority=2, max_inline=20)
    summary = ReviewSummary(
        head_sha=HEAD,
        base_sha=BASE,
        model="gpt-5-codex-mini",
        files_reviewed=3,
        lines_reviewed=120,
        segments_reviewed=2,
        segments_total=4,
        usage=CostLine(
            input_tokens=12_345, cached_input_tokens=2_000, output_tokens=1_234, cost_usd=0.0123
        ),
        not_reviewed=(
            NotReviewed("vendor/lib.js", "filtered"),
            NotReviewed("assets/logo.png", "no_patch"),
            NotReviewed("src/big.py", "budget", lines=(200, 640)),
            NotReviewed("src/huge.py", "model_error", lines=(1, 80), detail="timeout"),
        ),
        scope_note="changes since `" + BASE[:12] + "`",
    )
    return summary, plan


def _golden(name: str, text: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert text == expected


def test_inline_comment_golden() -> None:
    _, plan = sample()
    _golden("comment_p0.md", render_inline(plan.inline[0]))
    _golden("comment_p1.md", render_inline(plan.inline[1]))


def test_review_body_golden() -> None:
    summary, plan = sample()
    _golden("review_body.md", render_review_body(summary, plan))


def test_check_output_golden() -> None:
    summary, plan = sample()
    output = render_check_output(summary, plan, conclusion="failure")
    _golden("check_output.md", f"{output.title}\n---\n{output.summary}\n---\n{output.text}\n")


def test_review_body_marker_carries_everything_posted() -> None:
    summary, plan = sample()
    marker = ReviewMarker.parse(render_review_body(summary, plan))
    assert marker is not None
    assert marker.head_sha == HEAD
    assert marker.base_sha == BASE
    assert set(marker.fingerprints) == set(plan.posted_fingerprints)
    # The finding that could not be placed is not recorded as posted.
    assert len(marker.fingerprints) == 3


def test_inline_comment_marker_and_sanitised_prose() -> None:
    _, plan = sample()
    body = render_inline(plan.inline[1])
    assert parse_comment_marker(body) == plan.inline[1].fingerprint
    assert "@admin" not in body


def test_inline_marker_carries_the_anchored_place() -> None:
    _, plan = sample()
    carried = parse_comment_finding(render_inline(plan.inline[0]))
    assert carried is not None
    assert (carried.path, carried.line_start, carried.line_end) == ("src/db.py", 41, 42)
    assert carried.title == "SQL built from user input"
    assert carried.suggestion is None


def test_unsafe_suggestion_is_left_out() -> None:
    finding = _finding("a.py", 1, 1, "t", "b")
    body = render_comment(finding, fingerprint=FP, suggestion="key = 'ghp_" + "a" * 36 + "'")
    assert "```suggestion" not in body
    assert "ghp_" not in body


def test_nothing_reviewed_says_so() -> None:
    summary, _ = sample()
    empty = ReviewSummary(
        head_sha=HEAD,
        base_sha=None,
        model="m",
        files_reviewed=0,
        lines_reviewed=0,
        segments_reviewed=0,
        segments_total=3,
        usage=CostLine(),
        not_reviewed=summary.not_reviewed,
    )
    plan: Plan[Anchored] = plan_findings([], min_inline_priority=2, max_inline=20)
    output = render_check_output(empty, plan, conclusion="neutral")
    assert output.title == "Nothing reviewed"
    assert "says nothing about the code" in output.summary
    assert "No new findings." in render_review_body(empty, plan)


def test_huge_review_stays_under_the_limit_and_keeps_counts_and_marker() -> None:
    anchored = [
        Anchored(
            _finding(f"src/f{n}.py", n + 1, 3, "é" * 150 + f" {n}", "ü" * 2_000),
            f"src/f{n}.py",
            n + 1,
        )
        for n in range(400)
    ]
    plan = plan_findings(anchored, min_inline_priority=2, max_inline=20)
    summary, _ = sample()
    skipped = tuple(NotReviewed(f"gen/{n}.py", "budget", (1, 9)) for n in range(3_000))
    big = ReviewSummary(**{**_fields(summary), "not_reviewed": skipped})
    body = render_review_body(big, plan)
    assert byte_length(body) < GITHUB_BODY_LIMIT
    assert "**400 new findings:** 400 P3 — 0 inline, 400 below." in body
    assert "3000 segments beyond this review's budget." in body
    assert "more not shown (size limit)" in body
    marker = ReviewMarker.parse(body)
    assert marker is not None
    assert len(marker.fingerprints) == 400
    output = render_check_output(big, plan, conclusion="neutral")
    for field in (output.title, output.summary, output.text):
        assert byte_length(field) < GITHUB_CHECK_OUTPUT_LIMIT


def _fields(summary: ReviewSummary) -> dict[str, object]:
    return {name: getattr(summary, name) for name in ReviewSummary.__slots__}


def test_huge_comment_body_is_capped() -> None:
    finding = _finding("a.py", 1, 2, "t", "😀" * 40_000)
    body = render_comment(finding, fingerprint=FP, suggestion="x = 1")
    assert byte_length(body) < GITHUB_BODY_LIMIT
    assert parse_comment_marker(body) == FP
    assert body.endswith(" -->")
    assert "```suggestion\nx = 1\n```" in body


def test_hostile_paths_cannot_break_out_of_code_spans() -> None:
    span = code_span("a`b``c\n/codex fix @x")
    tokens = MarkdownIt().parseInline(span)[0].children or []
    assert [t.type for t in tokens] == ["code_inline"]
    assert tokens[0].content == "a`b``c /codex fix @x"


def test_skipped_check_and_config_errors() -> None:
    assert "draft" in render_skipped_check(SkipReason.DRAFT).summary
    text = render_config_errors(
        ConfigErrors(("`x` line 2: unknown key `y`.",)), used_defaults=False
    )
    assert "was not reviewed" in text
    assert "- `x` line 2: unknown key `y`." in text


def test_help_text_lists_every_command() -> None:
    text = help_text()
    for command in ("/codex review", "/codex fix", "/codex help"):
        assert f"`{command}" in text


# -- the fence rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fence"), [("x", "```"), ("a ``` b", "````"), ("````\n`", "`````"), ("", "```")]
)
def test_fence_is_longer_than_any_backtick_run(code: str, fence: str) -> None:
    assert fence_for(code) == fence


CODE = st.lists(
    st.one_of(
        st.sampled_from(["```", "````", "~~~", "`", "    ```suggestion", "```python", "\n", " "]),
        st.text(
            alphabet=st.characters(
                blacklist_categories=["Cs"],
                blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00",
            ),
            max_size=10,
        ),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(CODE)
def test_suggestion_block_parses_back_to_exactly_the_code(code: str) -> None:
    block = suggestion_block(code)
    tokens = [t for t in MarkdownIt("commonmark").parse(block) if t.type == "fence"]
    assert len(tokens) == 1
    assert tokens[0].info == "suggestion"
    expected = code.removesuffix("\n")
    assert tokens[0].content == (expected + "\n" if expected else "")
