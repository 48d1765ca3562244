"""The chaos run shared by the chaos test and ``bench/chaos.py``.

Twenty pull requests go through the real receiver, two real worker processes
(one embedding the beat), a real Redis and both emulators, while faults are
injected: GitHub answers 502 or holds a request past the client's timeout on
about ``github_rate`` of its requests (the review POST included), one
secondary rate limit on a review, the model answers 429, 500 or too slowly on
about ``model_rate`` of its calls, one worker is killed with SIGKILL in the
middle of the run, and Redis is stopped and restarted while three deliveries
arrive (the receiver answers them 503; the redelivery sweep gets them back).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.intake_support import WEBHOOK_SECRET, Proc, spawn
from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import Answer, ResponsesEmulator, error, findings, rate_limited, slow
from tests.review.conftest import BASE_FILES, BUG, HEAD_CALC, REPO
from workers.redis_server import RedisServer

REVIEWS = r"/pulls/\d+/reviews$"


@dataclass
class ChaosReport:
    prs: int
    faults: dict[str, int]
    reviews_posted: int
    duplicates: int
    prs_without_review: int
    segments_not_reviewed: int
    jobs_retried: int
    jobs_given_up: int
    redelivered: int
    seconds_to_last_review: float
    logs: str = field(repr=False, default="")

    def lines(self) -> list[str]:
        faults = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        return [
            f"pull requests          {self.prs}",
            f"faults injected        {faults}",
            f"reviews posted         {self.reviews_posted}",
            f"duplicate reviews      {self.duplicates}",
            f"PRs without a review   {self.prs_without_review}",
            f"segments not reviewed  {self.segments_not_reviewed}",
            f"job retries            {self.jobs_retried}",
            f"jobs given up          {self.jobs_given_up}",
            f"deliveries redelivered {self.redelivered}",
            f"time to last review    {self.seconds_to_last_review:.1f} s",
        ]


class ModelChaos:
    """The model's answers: ``rate`` of the calls fail at random (429, 500, too slow)."""

    def __init__(self, rate: float, seed: int, timeout: float) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Answer:
        with self.lock:
            roll, pick = self.rng.random(), self.rng.random()
            if roll >= self.rate:
                return findings([BUG])
            if pick < 1 / 3:
                self.injected["model_429"] += 1
                return rate_limited(retry_after_ms=200, reset_tokens=None)
            if pick < 2 / 3:
                self.injected["model_500"] += 1
                return error(500, "The server had an error", type_="server_error")
            self.injected["model_timeout"] += 1
            return slow(self.timeout + 2, findings([BUG]))


def chaos_stack(root: Path, github: GitHubEmulator, openai: ResponsesEmulator) -> ReviewStack:
    return ReviewStack(
        root=root,
        github=github,
        openai=openai,
        app=github.create_app("codex-review"),
        redis_server=RedisServer.start(root / "redis", durable=True),
        extra_env={
            "JOB_DEADLINE_SECONDS": "900",
            "REDELIVERY_INTERVAL_SECONDS": "2",
            "GITHUB_TIMEOUT_SECONDS": "2",
            "GITHUB_WRITE_INTERVAL": "0",
            "OPENAI_STREAM_IDLE_TIMEOUT_SECONDS": "2",
            "SOFT_TIME_LIMIT": "60",
            "TIME_LIMIT": "66",
            "VISIBILITY_TIMEOUT": "80",
            "WORKER_CONCURRENCY": "2",
        },
    )


def run_chaos(
    stack: ReviewStack,
    *,
    prs: int = 20,
    github_rate: float = 0.1,
    model_rate: float = 0.2,
    seed: int = 7,
    timeout: float = 400.0,
) -> ChaosReport:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    # A maintainer's PRs: an outsider's would meet the daily review limits.
    gh.add_collaborator(REPO, "alice", "write")
    numbers = [
        gh.create_pull(REPO, "feature", title=f"Change {n}", author="alice") for n in range(prs)
    ]
    model = ModelChaos(model_rate, seed, timeout=2.0)
    stack.openai.add(model)
    stack.start_web()
    workers = [
        _worker(stack, "w1", beat=True),
        _worker(stack, "w2", beat=False),
    ]
    sender = gh.point_webhook(f"{stack.url}/api/github/webhooks", WEBHOOK_SECRET)
    chaos = gh.chaos(github_rate, seed=seed, delay=3.0)
    gh.fail_next(
        "POST",
        REVIEWS,
        403,
        headers={"retry-after": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )

    def deliver(number: int) -> int:
        body = pull_request_payload(
            "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
        )
        return gh.send_webhook("pull_request", body).status_code

    started = time.monotonic()
    first, refused, rest = numbers[:8], numbers[8:11], numbers[11:]
    assert all(deliver(n) == 202 for n in first)
    # One worker dies in the middle of its jobs; a replacement comes up.
    wait_for(lambda: len(stack.openai.requests) >= 3, 60, "the first model calls", stack)
    workers[1].kill_hard()
    # Redis goes away while three deliveries arrive, then comes back from its file.
    port, data = stack.redis_server.port, stack.redis_server.data_dir
    stack.redis_server.kill()
    answers = [deliver(n) for n in refused]
    stack.redis_server = RedisServer.start(data, port=port, durable=True)
    workers.append(_worker(stack, "w3", beat=False))
    assert all(deliver(n) == 202 for n in rest)

    wait_for(
        lambda: all(gh.reviews(REPO, n) for n in numbers),
        timeout,
        "a review on every pull request",
        stack,
    )
    last_review = time.monotonic() - started
    gh.calm()
    wait_for(
        lambda: all(c["status"] == "completed" for c in gh.state.check_runs),
        120,
        "every check run to complete",
        stack,
    )
    # A late duplicate would need a job still in flight: give one more visibility window.
    time.sleep(3)
    counters = {k.decode(): int(v) for k, v in stack.redis().hgetall("codex:metrics:jobs").items()}
    reviews = {n: gh.reviews(REPO, n) for n in numbers}
    faults = dict(chaos.injected) | dict(model.injected)
    faults["github_secondary_limit"] = 1
    faults["worker_sigkill"] = 1
    faults["redis_restart"] = 1
    faults["deliveries_503"] = sum(code == 503 for code in answers)
    not_reviewed = sum(
        "not reviewed" in review["body"].lower() for items in reviews.values() for review in items
    )
    sender.settle()
    return ChaosReport(
        prs=prs,
        faults=faults,
        reviews_posted=sum(len(items) for items in reviews.values()),
        duplicates=sum(max(0, len(items) - 1) for items in reviews.values()),
        prs_without_review=sum(not items for items in reviews.values()),
        segments_not_reviewed=not_reviewed,
        jobs_retried=sum(v for k, v in counters.items() if k.startswith("retried:")),
        jobs_given_up=sum(v for k, v in counters.items() if k.startswith("given_up:")),
        redelivered=counters.get("redelivery:redelivered", 0),
        seconds_to_last_review=last_review,
        logs=stack.logs(),
    )


def _worker(stack: ReviewStack, name: str, *, beat: bool) -> Proc:
    args = ["worker", *(["--beat"] if beat else []), "--hostname", f"{name}@chaos"]
    proc = spawn(args, stack.env(), stack.root, stack.root / f"{name}.log")
    stack.workers.append(proc)
    wait_for(lambda: "ready." in proc.text(), 60, f"worker {name}", stack)
    return proc
