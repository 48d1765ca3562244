"""A seeded world for the review flow: the GitHub and Responses emulators, a private
Redis, and the real GitHub and model clients pointed at them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import redis
from pydantic import SecretStr

from codex_common.jobs import ReviewJob, ReviewTrigger
from tests.emulators.github import GitHubEmulator, SeededApp
from tests.emulators.openai import ResponsesEmulator
from workers.github import GitHubApp, LocalPacer, retry_policy
from workers.github.client import GitHubClient
from workers.model import ModelClient, ModelConfig, RetryPolicy
from workers.redis_server import RedisServer
from workers.review.cache import SegmentCache
from workers.review.flow import ReviewFlow
from workers.review.outcome import PipelineSettings, ReviewDeps, ReviewOutcome

REPO = "acme/calc"

BASE_FILES: dict[str, str] = {
    "calc.py": ("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"),
    "README.md": "# calc\n\nSmall arithmetic helpers.\n",
    "AGENTS.md": (
        "# Notes for agents\n\nRun the tests with pytest.\n\n"
        "## Review guidelines\n\n- Arithmetic mistakes are P1.\n"
    ),
}

# The PR adds ``mul`` with a bug the scripted model reports.
HEAD_CALC = BASE_FILES["calc.py"] + (
    "\n\ndef mul(a, b):\n    # product of two numbers\n    return a + b  # product\n"
)
BUG_QUOTE = "    return a + b  # product"
BUG_FIX = "    return a * b  # product"


def finding(
    path: str,
    line: int,
    quote: str,
    title: str,
    *,
    priority: int = 1,
    body: str = "This is wrong.",
    suggestion: str | None = None,
    confidence: float = 0.9,
) -> dict[str, Any]:
    return {
        "path": path,
        "line_start": line,
        "line_end": line + quote.count("\n"),
        "quote": quote,
        "priority": priority,
        "title": title,
        "body": body,
        "suggestion": suggestion,
        "confidence": confidence,
    }


BUG = finding(
    "calc.py",
    11,
    BUG_QUOTE,
    "mul adds instead of multiplying",
    body="`mul` returns the sum of its arguments.",
    suggestion=BUG_FIX,
)


@dataclass
class World:
    """Everything one flow test needs; ``service()`` builds the pipeline on real clients."""

    github: GitHubEmulator
    openai: ResponsesEmulator
    redis_url: str
    app: SeededApp
    installation: int
    number: int
    head: str
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    _closers: list[Any] = field(default_factory=list)

    def github_app(self) -> GitHubApp:
        return GitHubApp(
            self.app.id,
            self.app.private_key_pem,
            self.github.base_url,
            retry=retry_policy(backoff_factor=0.01, max_rate_limit_wait=5),
            pacer=LocalPacer(min_interval=0.0),
            review_settle_seconds=0.2,
        )

    def model_config(self, **overrides: Any) -> ModelConfig:
        base = ModelConfig(
            keys=(SecretStr("sk-test-0"),),
            base_url=self.openai.url,
            escalation_model=None,
            retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05, max_total_wait=1.0),
            redis_prefix=f"{self.prefix}:model",
            read_timeout=10.0,
        )
        return replace(base, **overrides)

    def redis(self) -> redis.Redis[bytes]:
        client: redis.Redis[bytes] = redis.Redis.from_url(self.redis_url)
        self._closers.append(client)
        return client

    def deps(self, **settings: Any) -> ReviewDeps:
        gh_app = self.github_app()
        store = self.redis()
        http = httpx.Client(timeout=10.0)
        self._closers.append(http)
        model = ModelClient(self.model_config(), http=http, redis_client=store)

        def client(installation_id: int, repository: str) -> GitHubClient:
            return gh_app.installation_client(installation_id, repository)

        return ReviewDeps(
            github=client,
            model=model,
            redis=store,
            settings=PipelineSettings(redis_prefix=f"{self.prefix}:review", **settings),
            cache=SegmentCache(store, prefix=f"{self.prefix}:segment"),
        )

    def service(self, **settings: Any) -> ReviewFlow:
        return ReviewFlow(self.deps(**settings))

    def job(
        self, trigger: ReviewTrigger = "opened", head: str | None = None, delivery: str = "d-1"
    ) -> ReviewJob:
        return ReviewJob(
            delivery_id=delivery,
            installation_id=self.installation,
            repository=REPO,
            pr_number=self.number,
            head_sha=head or self.head,
            trigger=trigger,
        )

    def run(self, trigger: ReviewTrigger = "opened", **kwargs: Any) -> ReviewOutcome:
        return self.service().run(self.job(trigger, **kwargs))

    def push(self, files: dict[str, str | None], message: str = "More work") -> str:
        self.head = self.github.commit(REPO, "feature", files, message)
        return self.head

    # -- what GitHub shows ---------------------------------------------------------------------

    def reviews(self) -> list[dict[str, Any]]:
        return self.github.reviews(REPO, self.number)

    def comments(self) -> list[dict[str, Any]]:
        return self.github.review_comments(REPO, self.number)

    def check_runs(self) -> list[dict[str, Any]]:
        with self.github.state.lock:
            return [dict(c) for c in self.github.state.check_runs]

    def model_inputs(self) -> list[str]:
        return [str(r.body.get("input")) for r in self.openai.requests if r.status_code == 200]

    def close(self) -> None:
        for item in self._closers:
            item.close()


def seed(
    github: GitHubEmulator,
    openai: ResponsesEmulator,
    redis_url: str,
    *,
    base: dict[str, str] | None = None,
    head_files: dict[str, str | None] | None = None,
    draft: bool = False,
    author: str = "alice",
) -> World:
    app = github.create_app("codex-review")
    github.create_repo(REPO, base or BASE_FILES)
    installation = github.create_installation(app, "acme", ["calc"])
    head = github.commit(REPO, "feature", head_files or {"calc.py": HEAD_CALC}, "Add mul")
    number = github.create_pull(
        REPO, "feature", title="Add mul", body="Adds multiplication.", author=author, draft=draft
    )
    return World(github, openai, redis_url, app, installation, number, head)


@pytest.fixture
def world(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
) -> Iterator[World]:
    made = seed(github_emulator, openai_emulator, redis_server.url)
    try:
        yield made
    finally:
        made.close()
