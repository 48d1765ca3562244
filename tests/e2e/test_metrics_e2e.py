"""The workers' ``/metrics`` after a review end to end: a signed delivery into the real
receiver, a real Celery worker with two pool processes counting into
``PROMETHEUS_MULTIPROC_DIR``, the GitHub and Responses emulators."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings
from tests.review.conftest import BASE_FILES, BUG, BUG_FIX, BUG_QUOTE, HEAD_CALC, REPO
from workers.cli.stats import stats
from workers.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    server = RedisServer.start(tmp_path / "redis", durable=False)
    made = ReviewStack(
        root=tmp_path,
        github=github_emulator,
        openai=openai_emulator,
        app=github_emulator.create_app("codex-review"),
        redis_server=server,
        extra_env={
            "WORKER_METRICS_PORT": str(free_port()),
            "WORKER_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        },
    )
    try:
        yield made
    finally:
        made.stop()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_the_workers_metrics_show_the_review_its_model_spend_and_github_calls(
    stack: ReviewStack,
) -> None:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    number = gh.create_pull(REPO, "feature", title="Add mul", author="alice")
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.start_web()
    stack.start_worker()
    url = f"http://127.0.0.1:{stack.extra_env['WORKER_METRICS_PORT']}/metrics"

    opened = pull_request_payload(
        "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
    )
    assert stack.deliver("pull_request", opened, str(uuid.uuid4())).status_code == 202
    wait_for(lambda: gh.reviews(REPO, number), 30, "the review", stack)

    def counted() -> bool:
        try:
            return value(scrape(url), "codex_review_latency_seconds_count") == 1
        except httpx.HTTPError:
            return False

    wait_for(counted, 15, "the review's metrics", stack)
    samples = scrape(url)
    model = "gpt-5-codex-mini"
    assert value(samples, "codex_reviews_total", outcome="posted") == 1
    assert (
        value(samples, "codex_model_calls_total", model=model, repository=REPO, outcome="ok") == 1
    )
    for kind in ("input", "output"):
        tokens = value(samples, "codex_model_tokens_total", model=model, repository=REPO, kind=kind)
        assert tokens > 0, kind
    assert value(samples, "codex_model_cost_dollars_total", model=model, repository=REPO) > 0
    posted = value(
        samples,
        "codex_github_requests_total",
        endpoint="POST /repos/{owner}/{repo}/pulls/{n}/reviews",
        status="2xx",
    )
    assert posted == 1
    assert (
        value(
            samples,
            "codex_github_requests_total",
            endpoint="POST /app/installations/{n}/access_tokens",
            status="2xx",
        )
        >= 1
    )
    assert 0 < value(samples, "codex_review_latency_seconds_sum") < 30
    assert ("codex_queue_depth", frozenset({("queue", "reviews")})) in samples
    assert value(samples, "codex_queue_depth", queue="reviews") == 0
    assert value(samples, "codex_queue_oldest_age_seconds", queue="reviews") == 0
    assert value(samples, "codex_model_keys_parked") == 0
    # Counted by the pool processes, served by the parent: the files are per process.
    assert list((stack.root / "metrics").glob("counter_*.db"))


def test_the_compose_health_check_command_pings_the_running_worker(stack: ReviewStack) -> None:
    # docker-compose.yml's worker check, with this worker's name for celery@$HOSTNAME.
    stack.start_worker("w1")
    celery = str(Path(sys.executable).parent / "celery")

    def ping(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [celery, "--broker", stack.redis_server.url, "inspect", "ping",
             "--destination", name, "--timeout", "5"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert ping("w1@review-e2e").returncode == 0
    assert ping("nobody@review-e2e").returncode != 0


def test_stats_show_the_review_its_findings_an_applied_suggestion_and_its_cost(
    stack: ReviewStack,
) -> None:
    gh = stack.github
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(stack.app, "acme", ["calc"])
    head = gh.commit(REPO, "feature", {"calc.py": HEAD_CALC}, "Add mul")
    number = gh.create_pull(REPO, "feature", title="Add mul", author="alice")
    stack.openai.add(findings([BUG]), match=BUG_QUOTE)
    stack.start_web()
    stack.start_worker()
    opened = pull_request_payload(
        "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
    )
    assert stack.deliver("pull_request", opened).status_code == 202
    wait_for(lambda: gh.reviews(REPO, number), 30, "the review", stack)

    # The author applies the suggestion (as GitHub's "Commit suggestion" does) and pushes.
    applied = gh.commit(
        REPO, "feature", {"calc.py": HEAD_CALC.replace(BUG_QUOTE, BUG_FIX)}, "Apply suggestion"
    )
    sync = pull_request_payload(
        "synchronize",
        repository=REPO,
        installation_id=installation,
        number=number,
        head_sha=applied,
        before=head,
    )
    assert stack.deliver("pull_request", sync).status_code == 202
    store = stack.redis()
    wait_for(
        lambda: store.get(f"codex:review:{REPO}#{number}:last") == applied.encode(),
        30,
        "the review of the pushed head",
        stack,
    )

    env = {"REDIS_URL": stack.redis_server.url, "CODEX_ENV_FILE": ""}
    result = CliRunner().invoke(stats, ["--format", "json", "--repo", REPO], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (row,) = data["rows"]
    assert row["repository"] == REPO
    assert row["reviews"] == 1
    assert row["findings"] == {"P0": 0, "P1": 1, "P2": 0, "P3": 0}
    assert row["suggestions"] == 1
    assert row["suggestions_applied"] == 1
    assert row["model_calls"] >= 1
    assert Decimal(row["cost_usd"]) > 0
    assert row["tokens"]["input"] > 0

    table = CliRunner().invoke(stats, ["--format", "table"], env=env)
    assert table.exit_code == 0, table.output
    assert REPO in table.stdout
    assert "applied" in table.stdout
    later = CliRunner().invoke(stats, ["--format", "json", "--since", "2999-01"], env=env)
    assert json.loads(later.stdout)["rows"] == []
