"""Webhook to posted review, end to end, and GitHub API calls per review.

Starts the real receiver and a real worker process against a private Redis and
the GitHub and Responses emulators, then:

1. a 20-segment PR whose every model call answers after a fixed latency L, once
   adding 20 files and once modifying 20 existing ones (their head contents are
   then read from GitHub):
   prints the time from the signed delivery to the review appearing on the PR
   (target: at most L + 2 s), with the segment count the worker reported and
   the worker's own wall time per step (read: PR, files, reviews and
   configuration; plan: head contents and segment planning; review: the model
   calls; post: placing findings, re-reading the head, posting; check:
   completing the check run, after the review is visible);
2. a 30-file PR: prints the GitHub API calls of its review, split into the
   review's own calls (token, PR, files, reviews, re-read, POST review; target
   at most 6) and the extra ones (App identity, configuration and AGENTS.md
   reads, head contents, check runs), reported separately.

Run: ``.venv/bin/python bench/e2e.py [--latency 2.0] [--runs 3] [--github-latency 0.15]``
(``--github-latency`` delays every GitHub answer, closer to the real API's round trips).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def step_timings(log: str) -> list[dict[str, float]]:
    """The ``timings`` of every "review finished" line of a worker's JSON log."""
    found: list[dict[str, float]] = []
    for line in log.splitlines():
        if '"review finished"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        timings = entry.get("timings") if isinstance(entry, dict) else None
        if isinstance(timings, dict) and timings:
            found.append({str(k): float(v) for k, v in timings.items()})
    return found


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
    parser.add_argument(
        "--github-latency",
        type=float,
        default=0.0,
        help="extra seconds before every GitHub answer (the emulator answers in milliseconds)",
    )
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
        if args.github_latency > 0:
            github.slow_next("*", r"^/(repos|app)/", args.github_latency, times=1_000_000)
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

    def timed(title: str, files_for: Callable[[int], dict[str, str]]) -> dict[str, Any]:
        times: list[float] = []
        done = stack.workers[0].text().count("review finished")
        for attempt in range(runs):
            elapsed, _ = review("acme/big", f"{title}-{attempt}", files_for(attempt))
            times.append(elapsed)
        # "review finished" is logged after the check run completes: wait for the last one.
        wait(lambda: stack.workers[0].text().count("review finished") >= done + runs, 30, stack)
        segments = re.findall(r'"segments": (\d+)', stack.workers[0].text())
        steps = step_timings(stack.workers[0].text())[-runs:]
        print(f"20-file PR ({title} files), model latency L = {latency:.2f} s, {runs} runs")
        print(f"  segments reviewed per run (worker log): {segments[-runs:]}")
        if steps:
            medians = {
                name: statistics.median(run.get(name, 0.0) for run in steps) for name in steps[0]
            }
            print(
                "  worker steps (median s): "
                + ", ".join(f"{name} {seconds:.2f}" for name, seconds in medians.items())
            )
        median = statistics.median(times)
        print(
            f"  webhook -> review posted: median {median:.2f} s, max {max(times):.2f} s, "
            f"overhead over L: {median - latency:.2f} s (target <= 2.00 s)"
        )
        return {"times": times, "steps": steps}

    def new_modules(attempt: int) -> dict[str, str]:
        return {f"pkg/mod_{i}.py": big_module(i + 100 * attempt, 520) for i in range(20)}

    # Modified files: every module exists on the default branch and the PR rewrites its
    # first half (one segment per file again), so head contents are read from GitHub.
    gh.commit(
        "acme/big",
        "main",
        {f"lib/mod_{i}.py": big_module(1000 + i, 520) for i in range(20)},
        "Base modules",
    )

    def edited_modules(attempt: int) -> dict[str, str]:
        edited: dict[str, str] = {}
        for i in range(20):
            lines = big_module(1000 + i, 520).splitlines(keepends=True)
            for j in range(2, 2 + 170):
                lines[j] = lines[j].replace("scale=", f"scale={attempt + 2} * ")
            edited[f"lib/mod_{i}.py"] = "".join(lines)
        return edited

    added = timed("added", new_modules)
    modified = timed("modified", edited_modules)

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
            {
                "latency": latency,
                "added": added,
                "modified": modified,
                "review_calls": review_calls,
                "calls": dict(calls),
            }
        )
    )


if __name__ == "__main__":
    main()
