"""The automatic review end to end: signed deliveries into the real receiver, a real
Celery worker process, a real Redis, and the GitHub and Responses emulators."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings, slow
from tests.review.conftest import (
    BASE_FILES,
    BUG,
    BUG_FIX,
    BUG_QUOTE,
    HEAD_CALC,
    REPO,
    finding,
)
from workers.model import BudgetLedger
from workers.redis_server import RedisServer
from workers.review.marker import ReviewMarker

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    app = github_emulator.create_app("codex-review")
    made = ReviewStack(
        root=tmp_path,
        github=github_emulator,
        openai=openai_emulator,
        app=app,
        redis_server=server,
        # Short limits so a killed worker's job comes back within seconds.
        extra_env={"SOFT_TIME_LIMIT": "8", "TIME_LIMIT": "9", "VISIBILITY_TIMEOUT": "12"},
    )
    try:
        yield made
    finally:
        made.stop()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


def seed(stack: ReviewStack) -> tuple[int, int, str]:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    number = gh.create_pull(REPO, "feature", title="Add mul", author="alice")
    return installation, number, head


def test_opened_then_pushed_then_redelivered(stack: ReviewStack) -> None:
    installation, number, head = seed(stack)
    new_quote = "    return a / b  # ratio"
    div_bug = finding("calc.py", 15, new_quote, "div by zero is not handled", priority=0)
    stack.openai.add(findings([div_bug, BUG]), match=new_quote)
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.start_web()
    stack.start_worker()

    opened = pull_request_payload(
        "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
    )
    delivery = str(uuid.uuid4())
    assert stack.deliver("pull_request", opened, delivery).status_code == 202
    wait_for(lambda: stack.github.reviews(REPO, number), 30, "the first review", stack)

    (review,) = stack.github.reviews(REPO, number)
    assert review["commit_id"] == head
    (comment,) = stack.github.review_comments(REPO, number)
    assert comment["line"] == 11
    assert comment["side"] == "RIGHT"
    assert f"```suggestion\n{BUG_FIX}\n```" in comment["body"]
    wait_for(
        lambda: [c for c in stack.github.state.check_runs if c["status"] == "completed"],
        15,
        "the check run to complete",
        stack,
    )
    (run,) = stack.github.state.check_runs
    assert run["conclusion"] == "neutral"
    assert run["head_sha"] == head
    store = stack.redis()
    ledger = BudgetLedger(store, prefix="codex:model", monthly_budget_usd=None)
    cost = ledger.usage_for_pr(REPO, number)
    assert cost.calls == 1
    assert cost.cost_usd > 0

    # A push: only the new finding is added, at the new head.
    pushed = stack.github.commit(
        REPO, "feature", {"calc.py": HEAD_CALC + "\n\ndef div(a, b):\n" + new_quote + "\n"}
    )
    sync = pull_request_payload(
        "synchronize",
        repository=REPO,
        installation_id=installation,
        number=number,
        head_sha=pushed,
        before=head,
    )
    assert stack.deliver("pull_request", sync).status_code == 202
    wait_for(lambda: len(stack.github.reviews(REPO, number)) == 2, 30, "the second review", stack)
    second = stack.github.reviews(REPO, number)[1]
    assert second["commit_id"] == pushed
    new_comments = [
        c for c in stack.github.review_comments(REPO, number) if c["commit_id"] == pushed
    ]
    assert len(new_comments) == 1
    assert "div by zero" in new_comments[0]["body"]
    marker = ReviewMarker.parse(second["body"])
    assert marker is not None
    assert marker.head_sha == pushed

    # The same delivery again, and the opened event once more: nothing is added.
    assert stack.deliver("pull_request", opened, delivery).status_code == 200
    assert stack.deliver("pull_request", sync).status_code == 200  # same bytes: a replay
    assert stack.deliver("pull_request", sync + b" ").status_code == 202  # new bytes: the worker
    wait_for(
        lambda: store.exists(f"codex:job:review:{REPO}#{number}@{pushed}:done"),
        15,
        "the second job to be done",
        stack,
    )
    wait_for(
        lambda: "job already done" in stack.workers[0].text(),
        15,
        "the repeated delivery to be handled",
        stack,
    )
    worker_log = stack.workers[0].text()
    assert len(stack.github.reviews(REPO, number)) == 2
    assert len(stack.github.review_comments(REPO, number)) == 2
    assert len(stack.openai.requests) == 2
    assert "BEGIN RSA PRIVATE KEY" not in worker_log


def test_a_worker_killed_mid_review_still_yields_exactly_one_review(stack: ReviewStack) -> None:
    installation, number, head = seed(stack)
    # The first model call hangs long enough to kill the worker in the middle of it.
    stack.openai.add(slow(10, findings([BUG])), match=BUG_QUOTE, times=1)
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.start_web()
    first = stack.start_worker("first")

    body = pull_request_payload(
        "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
    )
    assert stack.deliver("pull_request", body).status_code == 202
    wait_for(lambda: stack.openai.rules[0].used, 30, "the model call to start", stack)
    first.kill_hard()
    assert stack.github.reviews(REPO, number) == []

    stack.start_worker("second")
    wait_for(lambda: stack.github.reviews(REPO, number), 60, "the review after restart", stack)
    wait_for(
        lambda: all(c["status"] == "completed" for c in stack.github.state.check_runs),
        15,
        "the check run to complete",
        stack,
    )
    # One more visibility window for a duplicate to show up.
    store = stack.redis()
    wait_for(
        lambda: store.exists(f"codex:job:review:{REPO}#{number}@{head}:done"),
        30,
        "the job to be marked done",
        stack,
    )
    assert len(stack.github.reviews(REPO, number)) == 1
    assert len(stack.github.review_comments(REPO, number)) == 1
    # The crashed run's check run was reused, not duplicated.
    assert len(stack.github.state.check_runs) == 1
