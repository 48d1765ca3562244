"""The run summary: every file left out gets a typed kind, and the kinds come from the
diff engine's own skip reasons (planned here for real, so a reworded reason shows up)."""

from __future__ import annotations

from decimal import Decimal

from workers.diff import FileDiff, PlanOptions, Segment, parse_patch, plan_review
from workers.findings import Finding
from workers.model.wire import Usage
from workers.review.outcome import SegmentResult
from workers.review.render import NotReviewed
from workers.review.select import ReviewScope
from workers.review.summary import skip_kind, summarize_run

CHANGE = "@@ -1,1 +1,2 @@\n x = 1\n+y = 2\n"


def long_line_file() -> FileDiff:
    # Short lines keep it from looking minified; one line alone outgrows the budget.
    body = "".join(f"+line_{n} = {n}\n" for n in range(200)) + "+s = '" + "ab " * 3000 + "'\n"
    return parse_patch("long.py", "@@ -0,0 +1,201 @@\n" + body, status="added")


def world() -> list[FileDiff]:
    return [
        parse_patch("src/app.py", CHANGE),
        parse_patch("logo.png", None),
        parse_patch("gone.py", "@@ -1,1 +0,0 @@\n-x = 1\n", status="removed"),
        parse_patch("docs/notes.md", CHANGE),
        parse_patch("poetry.lock", CHANGE),
        parse_patch("spaces.py", "@@ -1,1 +1,1 @@\n x = 1\n"),
        long_line_file(),
    ]


def test_every_reason_the_diff_engine_gives_has_its_kind() -> None:
    plan = plan_review(world(), {}, PlanOptions(exclude=("docs/",), segment_tokens=1500))

    kinds = {s.path: skip_kind(s) for s in plan.skipped}

    assert kinds == {
        "docs/notes.md": "filtered",
        "logo.png": "no_patch",
        "gone.py": "quiet",
        "spaces.py": "quiet",
        "long.py": "too_large",
        "poetry.lock": "other",
    }


def test_a_file_outside_include_is_filtered() -> None:
    plan = plan_review(world(), {}, PlanOptions(include=("src/",)))

    assert {skip_kind(s) for s in plan.skipped} == {"filtered"}
    assert [s.path for s in plan.segments[0].files] == ["src/app.py"]


def result(segment: Segment, status: str, error: str | None = None) -> SegmentResult:
    return SegmentResult(
        segment,
        status,  # type: ignore[arg-type]
        (),
        Usage(input_tokens=10, output_tokens=5),
        Decimal("0.01"),
        "mini",
        error,
    )


def test_the_summary_lists_what_was_left_out_with_its_kind_and_leaves_quiet_skips_out() -> None:
    plan = plan_review(world(), {}, PlanOptions(exclude=("docs/",), segment_tokens=1500))
    (segment,) = plan.segments
    finding = Finding.from_dict(
        {
            "path": "src/app.py",
            "line_start": 2,
            "line_end": 2,
            "quote": "y = 2",
            "priority": 2,
            "title": "t",
            "body": "b",
            "suggestion": None,
        }
    )
    answered = SegmentResult(segment, "ok", (finding,), Usage(), Decimal(0), "mini")

    summary = summarize_run(
        head_sha="h" * 40,
        base_sha="b" * 40,
        scope=ReviewScope("full", "the whole pull request"),
        plan=plan,
        results=[answered],
        model="mini",
        usage=Usage(input_tokens=100, cached_tokens=20, output_tokens=7),
        cost_usd=Decimal("0.25"),
    )

    assert summary.not_reviewed == (
        NotReviewed("docs/notes.md", "filtered"),
        NotReviewed("logo.png", "no_patch"),
        NotReviewed("long.py", "too_large"),
        NotReviewed("poetry.lock", "other", detail="lockfile"),
    )
    assert (summary.files_reviewed, summary.segments_reviewed, summary.segments_total) == (1, 1, 1)
    assert (summary.usage.input_tokens, summary.usage.cached_input_tokens) == (100, 20)
    assert summary.usage.cost_usd == 0.25
    assert summary.scope_note == "the whole pull request"


def test_failed_segments_are_listed_by_status_with_their_error() -> None:
    plan = plan_review([parse_patch("src/app.py", CHANGE)], {}, PlanOptions())
    (segment,) = plan.segments

    def gaps(status: str, error: str | None) -> tuple[NotReviewed, ...]:
        return summarize_run(
            head_sha="h" * 40,
            base_sha="b" * 40,
            scope=ReviewScope("full", ""),
            plan=plan,
            results=[result(segment, status, error)],
            model="mini",
            usage=Usage(),
            cost_usd=Decimal(0),
        ).not_reviewed

    assert gaps("failed", "ModelTimeout: slow") == (
        NotReviewed("src/app.py", "model_error", detail="ModelTimeout: slow"),
    )
    assert gaps("budget_exceeded", None) == (
        NotReviewed("src/app.py", "budget", detail="budget_exceeded"),
    )
    assert gaps("incomplete", "x" * 300)[0].detail == "x" * 200
    assert gaps("incomplete", None)[0].kind == "incomplete"
