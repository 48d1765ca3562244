"""Failures end to end: transient faults are retried by the real worker until the
review lands once; a fault that outlasts the job's deadline is said on the check run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, error, findings
from tests.review.conftest import BASE_FILES, BUG, BUG_QUOTE, HEAD_CALC, REPO
from workers.redis_server import RedisServer

pytestmark = pytest.mark.e2e

REVIEWS = r"/pulls/\d+/reviews$"


def make_stack(
    tmp_path: Path, github: GitHubEmulator, openai: ResponsesEmulator, deadline: int
) -> ReviewStack:
    return ReviewStack(
        root=tmp_path,
        github=github,
        openai=openai,
        app=github.create_app("codex-review"),
        redis_server=RedisServer.start(tmp_path / "redis", durable=True),
        extra_env={"JOB_DEADLINE_SECONDS": str(deadline), "GITHUB_WRITE_INTERVAL": "0"},
    )


@pytest.fixture
def stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    made = make_stack(tmp_path, github_emulator, openai_emulator, deadline=600)
    try:
        yield made
    finally:
        made.stop()
        made.redis_server.kill()


@pytest.fixture
def short_stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    made = make_stack(tmp_path, github_emulator, openai_emulator, deadline=12)
    try:
        yield made
    finally:
        made.stop()
        made.redis_server.kill()


def open_pull(stack: ReviewStack) -> int:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    number = gh.create_pull(REPO, "feature", title="Add mul", author="alice")
    body = pull_request_payload(
        "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
    )
    stack.start_web()
    stack.start_worker()
    assert stack.deliver("pull_request", body).status_code == 202
    return number


def test_github_and_model_outages_are_retried_until_one_review_lands(stack: ReviewStack) -> None:
    # The model fails the whole first attempt; GitHub refuses the review twice.
    stack.openai.add(error(503, "overloaded", type_="server_error"), match=BUG_QUOTE, times=4)
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.github.fail_next("POST", REVIEWS, 502, times=2)

    number = open_pull(stack)

    wait_for(lambda: stack.github.reviews(REPO, number), 90, "the review after retries", stack)
    wait_for(
        lambda: all(c["status"] == "completed" for c in stack.github.state.check_runs),
        30,
        "the check run to complete",
        stack,
    )
    assert len(stack.github.reviews(REPO, number)) == 1
    (comment,) = stack.github.review_comments(REPO, number)
    assert comment["line"] == 11
    (run,) = stack.github.state.check_runs
    assert run["output"]["title"] == "1 new finding in 1 file"
    worker_log = stack.workers[0].text()
    assert worker_log.count("job failed; retrying") >= 2
    assert "job given up" not in worker_log
    counters = stack.redis().hgetall("codex:metrics:jobs")
    assert int(counters[b"retried:model_unavailable"]) >= 1
    assert int(counters[b"retried:github_unavailable"]) >= 1


def test_a_github_outage_past_the_deadline_is_said_on_the_check_run(
    short_stack: ReviewStack,
) -> None:
    stack = short_stack
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.github.fail_next("POST", REVIEWS, 502, times=1000)

    number = open_pull(stack)

    wait_for(
        lambda: [c for c in stack.github.state.check_runs if c["status"] == "completed"],
        90,
        "the check run to say the review gave up",
        stack,
    )
    (run,) = stack.github.state.check_runs
    assert run["conclusion"] == "neutral"
    assert run["output"]["title"] == "Review failed"
    summary = run["output"]["summary"]
    assert "GitHub did not answer" in summary
    assert "`/codex review`" in summary
    assert "Error" not in summary
    assert stack.github.reviews(REPO, number) == []
    # Every attempt after the first took the segment from the cache.
    assert len(stack.openai.requests) == 1
    counters = stack.redis().hgetall("codex:metrics:jobs")
    assert int(counters[b"given_up:github_unavailable"]) == 1
    assert "job given up" in stack.workers[0].text()
