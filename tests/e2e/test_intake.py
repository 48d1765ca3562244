"""Intake end to end: real ``codex-bot web``, real Celery workers, a real Redis on a free port."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from bot.signatures import sign
from codex_common.jobs import REVIEW_QUEUE, ReviewJob
from tests.e2e.intake_support import (
    WEBHOOK_SECRET,
    Proc,
    base_env,
    http_ready,
    spawn,
    wait_until,
    write_private_key,
)
from tests.e2e.intake_tasks import COMPLETED, SLOW_TASK, STARTED
from workers.celery_app import TaskLimits, create_celery
from workers.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
PR_OPENED: dict[str, Any] = json.loads((FIXTURES / "pull_request.opened.json").read_text())
COMMENT: bytes = (FIXTURES / "issue_comment.created.json").read_bytes()


def signed(event: str, body: bytes, delivery: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(WEBHOOK_SECRET.encode(), body),
        "Content-Type": "application/json",
    }


def pr_body(number: int, sha: str) -> bytes:
    payload = json.loads(json.dumps(PR_OPENED))
    payload["number"] = number
    payload["pull_request"]["number"] = number
    payload["pull_request"]["head"]["sha"] = sha
    return json.dumps(payload).encode()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[RedisServer, redis.Redis]]:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    client = redis.Redis.from_url(server.url)
    try:
        yield server, client
    finally:
        client.close()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.kill_hard()


def start_web(tmp_path: Path, redis_url: str, procs: list[Proc]) -> str:
    port = free_port()
    env = base_env(redis_url, WEBHOOK_SECRET=WEBHOOK_SECRET, PORT=str(port), HOST="127.0.0.1")
    proc = spawn(["web"], env, tmp_path, tmp_path / "web.log")
    procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ready(base + "/readyz"), 30, "the receiver", proc)
    return base


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(
    tmp_path: Path, redis_url: str, procs: list[Proc], name: str, *extra: str, **settings: str
) -> Proc:
    key = tmp_path / "app-key.pem"
    if not key.exists():
        write_private_key(key)
    env = base_env(
        redis_url,
        APP_ID="123456",
        PRIVATE_KEY_PATH=str(key),
        OPENAI_API_KEY="sk-e2e-not-a-real-key-0000000000",
        # Nothing listens there: the real pipeline fails fast instead of waiting on DNS.
        GITHUB_API_URL=f"http://127.0.0.1:{closed_port()}",
        OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1",
        **{"WORKER_CONCURRENCY": "1", **settings},
    )
    proc = spawn(
        ["worker", "--hostname", f"{name}@e2e", *extra], env, tmp_path, tmp_path / f"{name}.log"
    )
    procs.append(proc)
    wait_until(lambda: "ready." in proc.text(), 60, f"worker {name}", proc)
    return proc


def test_signed_deliveries_reach_the_production_tasks(
    tmp_path: Path, broker: tuple[RedisServer, redis.Redis], procs: list[Proc]
) -> None:
    server, client = broker
    base = start_web(tmp_path, server.url, procs)
    # Two pool processes: the review's failing GitHub calls must not hold up the command.
    worker = start_worker(tmp_path, server.url, procs, "w1", WORKER_CONCURRENCY="2")
    body = pr_body(1347, "6dcb09b5b57875f334f61aebed695e2e4193db5e")
    delivery = str(uuid.uuid4())
    response = httpx.post(
        base + "/api/github/webhooks", content=body, headers=signed("pull_request", body, delivery)
    )
    assert response.status_code == 202, response.text
    comment = httpx.post(
        base + "/api/github/webhooks",
        content=COMMENT,
        headers=signed("issue_comment", COMMENT, str(uuid.uuid4())),
    )
    assert comment.status_code == 202, comment.text

    # The real pipeline (GitHub, model) is out of reach here; what intake owns is that
    # the production tasks ran through the idempotency guard, which counts each start.
    review = "codex:job:review:octo-org/hello-world#1347@6dcb09b5b57875f334f61aebed695e2e4193db5e"
    command = "codex:job:command:octo-org/hello-world#1347:issue_comment:2501234567"
    wait_until(
        lambda: client.exists(review + ":attempts", command + ":attempts") == 2,
        30,
        "both jobs",
        worker,
    )
    log = worker.text()
    assert "Task codex.review[" in log
    assert "Task codex.command[" in log
    assert delivery in log  # the worker's lines carry the delivery id
    assert WEBHOOK_SECRET not in (tmp_path / "web.log").read_text()
    assert "BEGIN RSA PRIVATE KEY" not in log


def test_a_job_killed_mid_run_completes_exactly_once(
    tmp_path: Path, broker: tuple[RedisServer, redis.Redis], procs: list[Proc]
) -> None:
    server, client = broker
    limits = {"SOFT_TIME_LIMIT": "5", "TIME_LIMIT": "6", "VISIBILITY_TIMEOUT": "8"}
    include = ("--include", "tests.e2e.intake_tasks")
    first = start_worker(tmp_path, server.url, procs, "first", *include, **limits)

    publisher = create_celery(server.url, TaskLimits(5, 6, 8))
    job = ReviewJob(
        delivery_id=str(uuid.uuid4()),
        installation_id=1,
        repository="octo-org/hello-world",
        pr_number=7,
        head_sha="a" * 40,
        trigger="opened",
    )
    publisher.send_task(SLOW_TASK, kwargs={"job": job.to_dict()}, queue=REVIEW_QUEUE)
    publisher.close()
    wait_until(lambda: client.llen(STARTED) == 1, 30, "the job to start", first)
    first.kill_hard()
    assert client.llen(COMPLETED) == 0

    second = start_worker(tmp_path, server.url, procs, "second", *include, **limits)
    wait_until(lambda: client.llen(COMPLETED) >= 1, 60, "the job to come back", second)
    # Give a duplicate every chance to show up: one more visibility window.
    time.sleep(9)
    assert client.lrange(COMPLETED, 0, -1) == [job.key.encode()]
    assert client.llen(STARTED) == 2  # killed once, run once more, never again
    assert client.hlen("unacked") == 0
    assert client.llen(REVIEW_QUEUE) == 0


def test_a_burst_of_2000_deliveries_loses_none_and_duplicates_none(
    tmp_path: Path, broker: tuple[RedisServer, redis.Redis], procs: list[Proc]
) -> None:
    server, client = broker
    base = start_web(tmp_path, server.url, procs)
    unique = 1800
    deliveries = [(str(uuid.uuid4()), pr_body(i + 1, f"{i:040x}")) for i in range(unique)]
    # 200 duplicates: 100 re-sent later, 100 interleaved right after their original.
    resend = deliveries[:100]
    interleaved = deliveries[100:200]
    sequence = list(deliveries)
    for index, item in enumerate(interleaved):
        sequence.insert(sequence.index(item) + 1 + index % 3, item)
    sequence.extend(resend)
    assert len(sequence) == 2000

    url = base + "/api/github/webhooks"

    def send(batch: list[tuple[str, bytes]]) -> list[tuple[str, int]]:
        out = []
        with httpx.Client(timeout=30) as http:
            for delivery, body in batch:
                r = http.post(url, content=body, headers=signed("pull_request", body, delivery))
                out.append((delivery, r.status_code))
        return out

    first_pass = sequence[:-100]
    batches = [first_pass[i::16] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = [r for batch in pool.map(send, batches) for r in batch]
    results += send(sequence[-100:])

    statuses = Counter(status for _, status in results)
    assert set(statuses) <= {202, 200, 409}, statuses
    accepted = Counter(delivery for delivery, status in results if status == 202)
    assert len(accepted) == unique
    assert set(accepted.values()) == {1}
    assert client.llen(REVIEW_QUEUE) == unique
    queued = [
        json.loads(base64.b64decode(json.loads(message)["body"]))[1]["job"]["delivery_id"]
        for message in client.lrange(REVIEW_QUEUE, 0, -1)
    ]
    assert len(queued) == len(set(queued))
    assert set(queued) == {delivery for delivery, _ in deliveries}
    assert len(client.keys("codex:delivery:*")) == unique
