"""Pure review decisions: skip, scope, inline versus body, dedupe, conclusion."""

from __future__ import annotations

import pytest

from tests.review.doubles import Anchored, Missed
from workers.findings import Finding
from workers.review.config import RepoConfig
from workers.review.fingerprint import fingerprint_of
from workers.review.select import (
    SkipReason,
    check_conclusion,
    plan_findings,
    plan_for,
    review_scope,
    skip_reason,
)

HEAD = "1" * 40
LAST = "2" * 40


def finding(path: str, line: int, priority: int, title: str, quote: str | None = None) -> Finding:
    return Finding(
        path=path,
        line_start=line,
        line_end=line,
        quote=quote if quote is not None else f"code at {path}:{line}",
        priority=priority,
        title=title,
        body=f"body of {title}",
    )


def placed(path: str, line: int, priority: int, title: str, quote: str | None = None) -> Anchored:
    return Anchored(finding(path, line, priority, title, quote), path, line)


# -- skip ---------------------------------------------------------------------


def _skip(config: RepoConfig | None = None, **kw: object) -> SkipReason | None:
    values: dict[str, object] = {
        "state": "open",
        "draft": False,
        "author_login": "alice",
        "author_type": "User",
        "requested": False,
    }
    values.update(kw)
    return skip_reason(config=config or RepoConfig(), **values)  # type: ignore[arg-type]


def test_open_pr_by_a_person_is_reviewed() -> None:
    assert _skip() is None


def test_skip_reasons() -> None:
    assert _skip(state="closed") is SkipReason.CLOSED
    assert _skip(draft=True) is SkipReason.DRAFT
    assert _skip(author_type="Bot", author_login="dependabot[bot]") is SkipReason.BOT_AUTHOR
    assert _skip(author_type=None, author_login="renovate[bot]") is SkipReason.BOT_AUTHOR
    assert _skip(RepoConfig(auto_review=False)) is SkipReason.AUTO_REVIEW_OFF


def test_configuration_allows_drafts_and_bots() -> None:
    config = RepoConfig(review_drafts=True, review_bot_prs=True)
    assert _skip(config, draft=True, author_type="Bot", author_login="x[bot]") is None


def test_a_requested_review_overrides_everything_but_closed() -> None:
    config = RepoConfig(auto_review=False)
    assert _skip(config, draft=True, author_type="Bot", requested=True) is None
    assert _skip(config, state="closed", requested=True) is SkipReason.CLOSED


def test_skip_messages_say_how_to_change_it() -> None:
    assert "review_drafts: true" in SkipReason.DRAFT.message
    assert "/codex review" in SkipReason.AUTO_REVIEW_OFF.message


# -- scope --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "status", "incremental", "truncated", "kind"),
    [
        (None, None, True, False, "full"),
        (HEAD, None, True, False, "up_to_date"),
        (LAST, "identical", True, False, "up_to_date"),
        (LAST, "ahead", True, False, "incremental"),
        (LAST, "ahead", False, False, "full"),
        (LAST, "ahead", True, True, "full"),
        (LAST, "diverged", True, False, "full"),
        (LAST, "behind", True, False, "full"),
        (LAST, None, True, False, "full"),
    ],
)
def test_review_scope(
    last: str | None, status: str | None, incremental: bool, truncated: bool, kind: str
) -> None:
    scope = review_scope(
        head_sha=HEAD,
        last_reviewed_sha=last,
        compare_status=status,  # type: ignore[arg-type]
        incremental=incremental,
        compare_truncated=truncated,
    )
    assert scope.kind == kind
    assert scope.since_sha == (LAST if kind == "incremental" else None)


def test_rewritten_history_is_explained() -> None:
    scope = review_scope(
        head_sha=HEAD, last_reviewed_sha=LAST, compare_status="diverged", incremental=True
    )
    assert scope.reason == f"history was rewritten since `{LAST[:12]}` (diverged)"


# -- plan ---------------------------------------------------------------------


def test_threshold_cap_and_order() -> None:
    items = [
        placed("b.py", 5, 1, "b1"),
        placed("a.py", 9, 3, "nit"),
        placed("a.py", 7, 0, "crash"),
        placed("a.py", 2, 1, "a1"),
        placed("c.py", 1, 2, "c2"),
    ]
    plan = plan_findings(items, min_inline_priority=2, max_inline=3)
    assert [i.anchored.finding.title for i in plan.inline] == ["crash", "a1", "b1"]
    assert [(x.finding.title, x.reason) for x in plan.listed] == [
        ("c2", "over_cap"),
        ("nit", "below_threshold"),
    ]
    assert plan.p0_found == 1
    assert len(plan.posted_fingerprints) == 5


def test_zero_inline_puts_everything_in_the_body() -> None:
    plan = plan_findings([placed("a.py", 1, 0, "x")], min_inline_priority=3, max_inline=0)
    assert plan.inline == ()
    assert [x.reason for x in plan.listed] == ["over_cap"]


def test_prior_fingerprints_are_not_posted_again_but_p0_still_counts() -> None:
    old = placed("a.py", 3, 0, "crash", "eval(request.body)")
    moved = placed("a.py", 30, 0, "Crash", "  eval(request.body)")  # moved by a later push
    new = placed("a.py", 40, 1, "new one")
    plan = plan_findings(
        [moved, new], min_inline_priority=2, max_inline=20, prior=[fingerprint_of(old.finding)]
    )
    assert [i.anchored.finding.title for i in plan.inline] == ["new one"]
    assert plan.repeated == (fingerprint_of(old.finding),)
    assert plan.p0_found == 1
    assert fingerprint_of(old.finding) not in plan.posted_fingerprints


def test_duplicates_within_a_run_keep_the_most_severe() -> None:
    plan = plan_findings(
        [placed("a.py", 1, 2, "Dup", "x = 1"), placed("a.py", 1, 1, "dup", "x  =  1")],
        min_inline_priority=2,
        max_inline=20,
    )
    assert [i.anchored.finding.priority for i in plan.inline] == [1]
    assert plan.duplicates == 1


def test_unanchored_findings_are_unplaced_with_their_reason_and_not_posted() -> None:
    miss = Missed(finding("gone.py", 12, 0, "ghost"), "quoted code not found in the diff")
    dup = Missed(finding("a.py", 1, 1, "same", "q"), "line outside the diff")
    plan = plan_findings(
        [placed("a.py", 1, 1, "same", "q")], [miss, dup], min_inline_priority=2, max_inline=20
    )
    assert len(plan.inline) == 1
    assert plan.listed == ()
    assert [(x.path, x.line, x.reason) for x in plan.unplaced] == [
        ("gone.py", 12, "quoted code not found in the diff")
    ]
    assert plan.posted_fingerprints == (plan.inline[0].fingerprint,)
    assert plan.duplicates == 1
    assert plan.p0_found == 0  # an unplaced claim does not fail the check


def test_plan_for_uses_the_repository_thresholds() -> None:
    items = [placed("a.py", n, 1, f"t{n}") for n in range(5)]
    plan = plan_for(items, [], RepoConfig(min_inline_priority=0, max_inline_comments=30))
    assert plan.inline == ()
    plan = plan_for(items, [], RepoConfig(min_inline_priority=1, max_inline_comments=2))
    assert len(plan.inline) == 2


def test_the_anchor_engines_record_fits_the_protocol() -> None:
    from workers.diff.anchor import AnchoredFinding

    item = AnchoredFinding(
        finding=finding("a.py", 4, 0, "real"), path="a.py", line=4, start_line=None
    )
    plan = plan_findings([item], min_inline_priority=2, max_inline=20)
    assert plan.inline[0].anchored is item


# -- conclusion ---------------------------------------------------------------


def test_check_conclusion_is_never_success() -> None:
    assert check_conclusion(reviewed_segments=0, p0_found=0, gate_on_p0=True) == "neutral"
    assert check_conclusion(reviewed_segments=0, p0_found=2, gate_on_p0=True) == "neutral"
    assert check_conclusion(reviewed_segments=3, p0_found=0, gate_on_p0=True) == "neutral"
    assert check_conclusion(reviewed_segments=3, p0_found=1, gate_on_p0=False) == "neutral"
    assert check_conclusion(reviewed_segments=3, p0_found=1, gate_on_p0=True) == "failure"
