"""Automatic reviews of PRs whose author has no write access follow ``OUTSIDER_REVIEWS``;
maintainers' reviews and ``/codex review`` are never held."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.emulators.openai import findings
from tests.review.conftest import REPO, World
from workers.review.outsiders import OutsiderPolicy, hold
from workers.review.records import ReviewRecords

LIMITED = OutsiderPolicy("limited", per_pr_per_day=2, per_author_per_day=5)


def test_the_pure_decision_for_each_mode() -> None:
    assert hold(OutsiderPolicy("review"), pr_reviews_today=99, author_reviews_today=99) is None
    held = hold(OutsiderPolicy("command"), pr_reviews_today=0, author_reviews_today=0)
    assert held is not None
    assert "`/codex review`" in held.summary
    assert hold(LIMITED, pr_reviews_today=1, author_reviews_today=4) is None
    per_pr = hold(LIMITED, pr_reviews_today=2, author_reviews_today=0)
    assert per_pr is not None
    assert per_pr.title == "Review limit reached"
    assert "This pull request had 2 automatic reviews today" in per_pr.summary
    per_author = hold(LIMITED, pr_reviews_today=0, author_reviews_today=5)
    assert per_author is not None
    assert "by this author had 5" in per_author.summary


def _push_and_review(world: World, n: int, policy: OutsiderPolicy) -> str:
    world.push({f"extra_{n}.py": f"x = {n}\n"})
    return world.service(outsiders=policy).run(world.job("synchronize", delivery=f"d-{n}")).status


def test_limited_holds_the_third_push_of_the_day_with_a_neutral_check_run(world: World) -> None:
    world.openai.add(findings([]))
    statuses = [_push_and_review(world, n, LIMITED) for n in range(3)]

    assert "skipped" not in statuses[:2]
    assert statuses[2] == "skipped"
    last = world.check_runs()[-1]
    assert last["head_sha"] == world.head
    assert last["status"] == "completed"
    assert last["conclusion"] == "neutral"
    assert last["output"]["title"] == "Review limit reached"
    assert "A maintainer can ask for a review with `/codex review`." in last["output"]["summary"]
    # A maintainer's `/codex review` is not held.
    asked = world.service(outsiders=LIMITED).run(world.job("command", delivery="d-asked"))
    assert asked.status == "posted"


def test_command_mode_reviews_an_outsider_only_on_request(world: World) -> None:
    world.openai.add(findings([]))
    policy = OutsiderPolicy("command")
    before = len(world.openai.requests)

    outcome = world.service(outsiders=policy).run(world.job("opened"))

    assert outcome.status == "skipped"
    assert len(world.openai.requests) == before  # nothing spent
    (run,) = world.check_runs()
    assert run["conclusion"] == "neutral"
    assert run["output"]["title"] == "Not reviewed automatically"
    assert world.reviews() == []


@pytest.mark.parametrize("permission", ["write", "maintain", "admin"])
def test_an_author_with_write_access_is_never_held(world: World, permission: str) -> None:
    world.github.add_collaborator(REPO, "alice", permission)
    world.openai.add(findings([]))
    before = len(world.github.requests)

    outcome = world.service(outsiders=OutsiderPolicy("command")).run(world.job("opened"))

    assert outcome.status == "posted"
    paths = [r.path for r in world.github.requests[before:]]
    assert f"/repos/{REPO}/collaborators/alice/permission" in paths


def test_a_read_only_collaborator_counts_as_an_outsider(world: World) -> None:
    world.github.add_collaborator(REPO, "alice", "read")
    world.openai.add(findings([]))
    outcome = world.service(outsiders=OutsiderPolicy("command")).run(world.job("opened"))
    assert outcome.status == "skipped"


def test_review_mode_asks_github_nothing_more(world: World) -> None:
    world.github.add_collaborator(REPO, "alice", "read")
    world.openai.add(findings([]))
    before = len(world.github.requests)

    outcome = world.service(outsiders=OutsiderPolicy("review")).run(world.job("opened"))

    assert outcome.status == "posted"
    assert not any("/permission" in r.path for r in world.github.requests[before:])


def test_the_author_count_spans_the_author_s_pull_requests(world: World) -> None:
    records = ReviewRecords(world.redis(), f"{world.prefix}:review", 3600)
    first = world.job("opened")
    second = replace(first, pr_number=first.pr_number + 1)
    for job in (first, first, second):
        records.count_outsider_review(job, "Alice", "2026-12-01")
    assert records.outsider_reviews(first, "alice", "2026-12-01") == (2, 3)
    assert records.outsider_reviews(second, "ALICE", "2026-12-01") == (1, 3)
    assert records.outsider_reviews(second, "alice", "2026-12-02") == (0, 0)
