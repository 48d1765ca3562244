"""A running deployment for the review end-to-end tests and the benchmark.

``ReviewStack`` starts the real receiver (``codex-bot web``) and a real Celery
worker (``codex-bot worker``) as processes, against a private Redis and the
GitHub and Responses emulators served from the test process. The worker finds
GitHub and the model only through ``GITHUB_API_URL`` and ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from bot.signatures import sign
from tests.e2e.intake_support import WEBHOOK_SECRET, Proc, base_env, http_ready, spawn, wait_until
from tests.emulators.github import GitHubEmulator, SeededApp
from tests.emulators.openai import ResponsesEmulator
from workers.redis_server import RedisServer, free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
OPENAI_KEY = "sk-test-0"


def pull_request_payload(
    action: str,
    *,
    repository: str,
    installation_id: int,
    number: int,
    head_sha: str,
    before: str | None = None,
) -> bytes:
    """A ``pull_request`` delivery as GitHub sends it, for the given PR and head."""
    payload: dict[str, Any] = json.loads((FIXTURES / "pull_request.opened.json").read_text())
    payload["action"] = action
    payload["number"] = number
    payload["installation"]["id"] = installation_id
    payload["repository"]["full_name"] = repository
    payload["repository"]["name"] = repository.split("/")[1]
    pull = payload["pull_request"]
    pull["number"] = number
    pull["head"]["sha"] = head_sha
    pull["head"]["repo"]["full_name"] = repository
    pull["base"]["repo"]["full_name"] = repository
    if before is not None:
        payload["before"] = before
        payload["after"] = head_sha
    return json.dumps(payload).encode()


@dataclass
class ReviewStack:
    """The receiver and worker processes plus what they talk to."""

    root: Path
    github: GitHubEmulator
    openai: ResponsesEmulator
    app: SeededApp
    redis_server: RedisServer
    extra_env: Mapping[str, str] = field(default_factory=dict)
    web: Proc | None = None
    workers: list[Proc] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return base_env(
            self.redis_server.url,
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            APP_ID=str(self.app.id),
            PRIVATE_KEY=self.app.private_key_pem,
            GITHUB_API_URL=self.github.base_url,
            OPENAI_API_KEY=OPENAI_KEY,
            OPENAI_BASE_URL=self.openai.url,
            **{"OPENAI_ESCALATION_MODEL": "", "WORKER_CONCURRENCY": "1", **self.extra_env},
        )

    def start_web(self) -> None:
        self.port = free_port()
        env = {**self.env(), "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.web = spawn(["web"], env, self.root, self.root / "web.log")
        wait_until(lambda: http_ready(f"{self.url}/healthz"), 30, "the receiver", self.web)

    def start_worker(self, name: str = "w1") -> Proc:
        log = self.root / f"{name}.log"
        proc = spawn(
            ["worker", "--hostname", f"{name}@review-e2e"],
            self.env(),
            self.root,
            log,
        )
        wait_until(lambda: "ready." in proc.text(), 60, f"worker {name}", proc)
        self.workers.append(proc)
        return proc

    def deliver(self, event: str, body: bytes, delivery: str | None = None) -> httpx.Response:
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET.encode(), body),
            "Content-Type": "application/json",
        }
        return httpx.post(f"{self.url}/api/github/webhooks", content=body, headers=headers)

    def redis(self) -> redis.Redis[bytes]:
        client: redis.Redis[bytes] = redis.Redis.from_url(self.redis_server.url)
        return client

    def stop(self) -> None:
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            proc.kill_hard()

    def logs(self) -> str:
        parts = [p.text()[-4000:] for p in [*self.workers, *([self.web] if self.web else [])]]
        return "\n----\n".join(parts)


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, stack: ReviewStack
) -> None:
    """Wait for ``predicate``; on timeout the processes' logs go into the failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{stack.logs()}")
