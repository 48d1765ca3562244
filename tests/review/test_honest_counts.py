"""Findings that cannot be placed are listed apart with their reason, never counted as new
findings in the check run's title or the review's counts, and never recorded as posted."""

from __future__ import annotations

from tests.emulators.openai import findings
from tests.review.conftest import BUG, BUG_QUOTE, World, finding
from workers.review.marker import ReviewMarker

GHOST = finding("calc.py", 12, "    return ghost(a, b)", "Ghost quote", priority=0)
OUTSIDE = finding("lib/elsewhere.py", 3, "x = 1", "Outside the PR", priority=1)


def test_unplaced_findings_are_listed_apart_and_not_counted(world: World) -> None:
    world.openai.add(findings([BUG, GHOST, OUTSIDE]), match=BUG_QUOTE)

    outcome = world.run("opened")

    assert outcome.status == "posted", outcome.reason
    (review,) = world.reviews()
    body = review["body"]
    # One finding was placed: only it counts.
    assert "**1 new finding:** 1 P1 — 1 inline, 0 below." in body
    assert "2 more could not be placed on the diff and are not counted" in body
    apart = body.split("#### Could not be placed on the diff (not counted)", 1)[1]
    assert "Ghost quote" in apart
    assert "quoted lines not found in the diff" in apart
    # The path outside the PR is counted in that list, not dropped.
    assert "Outside the PR" in apart
    assert "`lib/elsewhere.py:3`" in apart
    assert "file is not part of the diff" in apart
    # Only the placed finding is recorded as posted.
    marker = ReviewMarker.parse(body)
    assert marker is not None
    assert len(marker.fingerprints) == 1
    assert outcome.inline == 1
    assert outcome.in_body == 0
    (run,) = world.check_runs()
    assert run["output"]["title"] == "1 new finding in 1 file; 2 not placed"
    # An unplaced P0 claim does not fail the check.
    assert run["conclusion"] == "neutral"
    assert "Ghost quote" in run["output"]["text"]


def test_an_unplaced_finding_is_offered_again_on_the_next_review(world: World) -> None:
    world.openai.add(findings([GHOST]), match="def mul")
    world.run("opened")
    world.push({"calc.py.bak": "backup\n"})

    second = world.run("command")

    assert second.status == "posted", second.reason
    later = world.reviews()[-1]["body"]
    assert "Ghost quote" in later
    assert "already reported earlier" not in later
