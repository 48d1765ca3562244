"""Webhook to posted review, end to end, and GitHub API calls per review.

Starts the real receiver and a real worker process against a private Redis and
the GitHub and Responses emulators, then:

1. a 20-segment PR whose every model call answers after a fixed latency L:
   prints the time from the signed delivery to the review appearing on the PR
   (target: at most L + 2 s), with the segment count the worker reported;
2. a 30-file PR: prints the GitHub API calls of its review, split into the
   review's own calls (token, PR, files, reviews, re-read, POST review; target
   at most 6) and the extra ones (App identity, configuration and AGENTS.md
   reads, head contents, check runs), reported separately.

Run: ``.venv/bin/python bench/e2e.py [--latency 2.0] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.review_support import ReviewStack, pull_request_payload  # noqa: E402
from tests.emulators.github import GitHubEmulator  # noqa: E402
from tests.emulators.openai import ResponsesEmulator, findings, slow  # noqa: E402
from workers.redis_server import RedisServer  # noqa: E402


def big_module(index: int, lines: int) -> str:
    body = "".join(
        f"value_{index}_{j} = compute({j}, scale={index}) + offset_{j % 7}\n" for j in range(lines)
    )
    return f'"""Module {index}."""\n\n{body}'


def categorise(method: str, path: str) -> str:
    if path.endswith("/access_tokens"):
        return "review: installation token"
    if path == "/app":
        return "extra: App identity (once per process)"
    if re.search(r"/pulls/\d+$", path):
        return "review: pull request (read + re-read before posting)"
    if path.endswith("/files"):
        return "review: PR files"
    if path.endswith("/reviews"):
        return "review: list reviews" if method == "GET" else "review: POST review"
    if "/compare/" in path:
        return "review: compare (incremental only)"
    if "/contents/" in path:
        return "extra: file contents (config, AGENTS.md, head files)"
    if "/check-runs" in path:
        return "extra: check run"
    return f"other: {method} {path}"


def wait(predicate, timeout: float, stack: ReviewStack) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise SystemExit(f"timed out\n{stack.logs()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=2.0, help="model latency L in seconds")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        github = GitHubEmulator(root / "github").start()
        openai = ResponsesEmulator().serve()
        server = RedisServer.start(root / "redis", durable=False)
        stack = ReviewStack(
            root=root,
            github=github,
            openai=openai,
            app=github.create_app("codex-review"),
            redis_server=server,
            extra_env={"OPENAI_MAX_CONCURRENCY_PER_KEY": "32", "LOG_LEVEL": "INFO"},
        )
        try:
            run(stack, args.latency, args.runs)
        finally:
            stack.stop()
            openai.stop()
            github.stop()
            server.kill()


def run(stack: ReviewStack, latency: float, runs: int) -> None:
    gh, openai = stack.github, stack.openai
    gh.create_repo("acme/big", {"README.md": "# big\n"})
    gh.create_repo("acme/wide", {"README.md": "# wide\n"})
    installation = gh.create_installation(stack.app, "acme", ["big", "wide"])
    openai.add(slow(latency, findings([])))
    stack.start_web()
    stack.start_worker()

    def review(repo: str, branch: str, files: dict[str, str]) -> tuple[float, int]:
        head = gh.commit(repo, branch, files, "Change")
        number = gh.create_pull(repo, branch, title=branch)
        body = pull_request_payload(
            "opened", repository=repo, installation_id=installation, number=number, head_sha=head
        )
        before = len(gh.requests)
        started = time.monotonic()
        response = stack.deliver("pull_request", body, str(uuid.uuid4()))
        assert response.status_code == 202, response.text
        wait(lambda: gh.reviews(repo, number), 120, stack)
        elapsed = time.monotonic() - started
        wait(lambda: all(c["status"] == "completed" for c in gh.state.check_runs), 30, stack)
        return elapsed, before

    # Warm-up: the worker child loads the tokenizer and mints its first token.
    review("acme/big", "warm-up", {"warm.py": big_module(999, 50)})

    times: list[float] = []
    for attempt in range(runs):
        files = {f"pkg/mod_{i}.py": big_module(i + 100 * attempt, 520) for i in range(20)}
        elapsed, _ = review("acme/big", f"big-{attempt}", files)
        times.append(elapsed)
    # "review finished" is logged after the check run completes: wait for the last one.
    wait(lambda: stack.workers[0].text().count("review finished") >= runs + 1, 30, stack)
    segments = re.findall(r'"segments": (\d+)', stack.workers[0].text())
    print(f"20-file PR, model latency L = {latency:.2f} s, {runs} runs")
    print(f"  segments reviewed per run (worker log): {segments[-runs:]}")
    print(
        f"  webhook -> review posted: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s, overhead over L: {statistics.median(times) - latency:.2f} s "
        f"(target <= 2.00 s)"
    )

    files = {f"src/file_{i}.py": f"def f{i}():\n    return {i}\n" for i in range(30)}
    _, before = review("acme/wide", "thirty", files)
    calls = Counter(categorise(r.method, r.path) for r in gh.requests[before:])
    review_calls = sum(n for k, n in calls.items() if k.startswith("review:"))
    print("30-file PR: GitHub API calls of one review (token cached per process after the first)")
    for name, count in sorted(calls.items()):
        print(f"  {count:3d}  {name}")
    print(
        f"  review calls: {review_calls} (target <= 6); extra calls: "
        f"{sum(calls.values()) - review_calls}"
    )
    print(
        json.dumps(
            {"latency": latency, "times": times, "review_calls": review_calls, "calls": dict(calls)}
        )
    )


if __name__ == "__main__":
    main()
