"""Failures end to end: transient faults are retried by the real worker until the
review lands once; a fault that outlasts the job's deadline is said on the check run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.intake_support import WEBHOOK_SECRET, spawn
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


def _stack(
    tmp_path: Path, github: GitHubEmulator, openai: ResponsesEmulator, deadline: int
) -> Iterator[ReviewStack]:
    made = make_stack(tmp_path, github, openai, deadline)
    try:
        yield made
    finally:
        made.stop()
        made.redis_server.kill()


@pytest.fixture
def stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    yield from _stack(tmp_path, github_emulator, openai_emulator, deadline=600)


@pytest.fixture
def short_stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    yield from _stack(tmp_path, github_emulator, openai_emulator, deadline=12)


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


def test_deliveries_refused_while_redis_was_down_are_redelivered_and_reviewed(
    stack: ReviewStack,
) -> None:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    numbers = [gh.create_pull(REPO, "feature", title=f"PR {n}", author="alice") for n in range(3)]
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.extra_env = {**stack.extra_env, "REDELIVERY_INTERVAL_SECONDS": "2"}
    stack.start_web()
    worker = spawn(
        ["worker", "--beat", "--hostname", "beat@failures-e2e"],
        stack.env(),
        stack.root,
        stack.root / "beat-worker.log",
    )
    stack.workers.append(worker)
    wait_for(lambda: "ready." in worker.text(), 60, "the worker", stack)
    sender = gh.point_webhook(f"{stack.url}/api/github/webhooks", WEBHOOK_SECRET)

    port, data = stack.redis_server.port, stack.redis_server.data_dir
    stack.redis_server.kill()
    refused = [
        gh.send_webhook(
            "pull_request",
            pull_request_payload(
                "opened", repository=REPO, installation_id=installation, number=n, head_sha=head
            ),
        )
        for n in numbers
    ]
    assert [a.status_code for a in refused] == [503, 503, 503]
    stack.redis_server = RedisServer.start(data, port=port, durable=True)

    for number in numbers:
        wait_for(lambda n=number: gh.reviews(REPO, n), 120, f"the review of #{number}", stack)
    sender.settle()
    for attempt in refused:
        tries = sender.by_guid(attempt.guid)
        assert [t.status_code for t in tries] == [503, 202]
        assert tries[1].redelivery
    assert all(len(gh.reviews(REPO, n)) == 1 for n in numbers)
    counters = stack.redis().hgetall("codex:metrics:jobs")
    assert int(counters[b"redelivery:redelivered"]) == 3
