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
2. GitHub API calls by endpoint kind, and the time from the signed delivery to
   the review (or the reply), for the review of a 30-file and of a 110-file PR
   (modified files in nested directories, two ``AGENTS.md``, a large
   ``CHANGES.rst``, a binary, added and removed files), then for a
   ``/codex fix`` naming a 40k-character modified file deep in the 110-file
   PR's file list.

Run: ``.venv/bin/python bench/e2e.py [--latency 2.0] [--runs 3] [--github-latency 0.15]``
(``--github-latency`` delays every GitHub answer, closer to the real API's round trips;
``--calls-only`` runs part 2 alone).
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
from tests.emulators.openai.answers import Rule  # noqa: E402
from workers.redis_server import RedisServer  # noqa: E402


def big_module(index: int, lines: int) -> str:
    body = "".join(
        f"value_{index}_{j} = compute({j}, scale={index}) + offset_{j % 7}\n" for j in range(lines)
    )
    return f'"""Module {index}."""\n\n{body}'


def categorise(method: str, path: str) -> str:
    """The endpoint kind of one GitHub request."""
    if path.endswith("/access_tokens"):
        return "installation token"
    if path == "/app":
        return "App identity"
    kinds = (
        (r"/pulls/\d+$", "pull request"),
        (r"/pulls/\d+/files$", "PR files"),
        (r"/pulls/\d+/reviews$", "reviews"),
        (r"/pulls/\d+/comments", "review comments"),
        (r"/compare/", "compare"),
        (r"/contents/\.github/codex-review\.yml$", "contents: configuration"),
        (r"/contents/(.*/)?AGENTS\.md$", "contents: AGENTS.md"),
        (r"/contents/", "contents: files"),
        (r"/git/trees/[^/]+$", "git trees"),
        (r"/git/blobs", "git blobs"),
        (r"/git/", "git (commits, refs, trees)"),
        (r"check-runs", "check runs"),
        (r"/collaborators/", "permission"),
        (r"/reactions$", "reactions"),
        (r"/issues/(\d+|comments)", "issue comments"),
    )
    for pattern, kind in kinds:
        if re.search(pattern, path):
            return f"{kind} ({method})"
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
    parser.add_argument("--calls-only", action="store_true", help="part 2 only")
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
            run(stack, args.latency, args.runs, calls_only=args.calls_only)
        finally:
            stack.stop()
            openai.stop()
            github.stop()
            server.kill()


def run(stack: ReviewStack, latency: float, runs: int, *, calls_only: bool) -> None:
    gh, openai = stack.github, stack.openai
    gh.create_repo("acme/big", {"README.md": "# big\n"})
    installation = gh.create_installation(stack.app, "acme", ["big"])
    # A maintainer's PRs (the default author): an outsider's would meet the daily limits.
    gh.add_collaborator("acme/big", "octocat", "write")
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
    if calls_only:
        calls(stack, latency)
        return

    def timed(title: str, files_for: Callable[[int], dict[str, str]]) -> dict[str, Any]:
        times: list[float] = []
        done = stack.workers[0].text().count("review finished")
        for attempt in range(runs):
            elapsed, _ = review("acme/big", f"{title}-{attempt}", files_for(attempt))
            times.append(elapsed)
        # "review finished" is logged after the check run completes: wait for the last one.
        wait(lambda: stack.workers[0].text().count("review finished") >= done + runs, 30, stack)
        segments = re.findall(r'"segments":\s*(\d+)', stack.workers[0].text())
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
    print(json.dumps({"latency": latency, "added": added, "modified": modified}))
    calls(stack, latency)


def module(index: int, functions: int) -> str:
    """A Python module of ``functions`` small functions."""
    body = "".join(
        f"def func_{index}_{j}(value):\n"
        f'    """Scale ``value`` by {j}."""\n'
        f"    total = value * {j}\n"
        f"    return total + {index}\n\n\n"
        for j in range(functions)
    )
    return f'"""Module {index}."""\n\n\n{body}'


def edited(text: str, marker: str) -> str:
    """``text`` with every tenth ``return`` line changed."""
    lines = text.splitlines(keepends=True)
    count = 0
    for i, line in enumerate(lines):
        if line.startswith("    return "):
            count += 1
            if count % 10 == 1:
                lines[i] = line.replace("return ", f"return {marker} + ")
    return "".join(lines)


GUIDE = "# Notes\n\n## Review guidelines\n\n- Flag unchecked input.\n"
TYPES = "src/pkg/sub9/types.py"


def wide_repo(modified: int, *, extras: bool) -> tuple[dict[str, str | bytes], dict[str, Any]]:
    """Base files and the PR's changes (None removes): ``modified`` changed modules in ten
    nested directories; with ``extras``, a large ``CHANGES.rst``, a binary, a 40k-character
    module deep in the file list, added and removed files."""
    base: dict[str, str | bytes] = {"README.md": "# wide\n", "AGENTS.md": GUIDE}
    base["src/pkg/AGENTS.md"] = GUIDE.replace("unchecked input", "blocking calls")
    for i in range(modified):
        base[f"src/pkg/sub{i % 10}/deep/mod_{i}.py"] = module(i, 12)
    change: dict[str, Any] = {p: edited(t, "1") for p, t in base.items() if p.endswith(".py")}
    if extras:
        base["CHANGES.rst"] = "".join(f"- Change number {i}: fixed a thing.\n" for i in range(1500))
        base["docs/logo.png"] = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
        base[TYPES] = module(999, 180)
        base["tests/test_old_a.py"] = module(501, 3)
        base["tests/test_old_b.py"] = module(502, 3)
        change["CHANGES.rst"] = "- Version 2.\n" + str(base["CHANGES.rst"])
        change["docs/logo.png"] = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 4
        change[TYPES] = edited(str(base[TYPES]), "2")
        change["tests/test_old_a.py"] = None
        change["tests/test_old_b.py"] = None
        for k in range(5):
            change[f"src/pkg/new/added_{k}.py"] = module(600 + k, 5)
    return base, change


def calls(stack: ReviewStack, latency: float) -> None:
    """Part 2: GitHub calls by endpoint kind for two PR sizes and a ``/codex fix``."""
    from tests.e2e.fix_helpers import fix_answer, issue_comment_event
    from tests.emulators.openai import text

    gh, openai = stack.github, stack.openai
    results: dict[str, Any] = {}

    def measure(title: str, act: Callable[[], object], done: Callable[[], bool]) -> None:
        before = len(gh.requests)
        started = time.monotonic()
        act()
        wait(done, 300, stack)
        elapsed = time.monotonic() - started
        # The check run (or the reaction) completes a moment after the visible answer.
        time.sleep(2.0)
        counted = Counter(categorise(r.method, r.path) for r in gh.requests[before:])
        print(f"{title}: {sum(counted.values())} GitHub calls, {elapsed:.2f} s to the answer")
        for name, count in sorted(counted.items()):
            print(f"  {count:4d}  {name}")
        results[title] = {"seconds": round(elapsed, 2), "calls": dict(counted)}

    def review_and_fix(size: int, extras: bool) -> None:
        repo = f"acme/wide{size}"
        base, change = wide_repo(size, extras=extras)
        gh.create_repo(repo, base)
        installation = gh.create_installation(stack.app, "acme", [repo.split("/")[1]])
        head = gh.commit(repo, "change", change, "Change")
        number = gh.create_pull(repo, "change", title="Change", author="alice")
        gh.add_collaborator(repo, "alice", "write")
        body = pull_request_payload(
            "opened", repository=repo, installation_id=installation, number=number, head_sha=head
        )
        measure(
            f"{len(change)}-file PR review",
            lambda: stack.deliver("pull_request", body, str(uuid.uuid4())),
            lambda: bool(gh.reviews(repo, number)),
        )
        if not extras:
            return
        answer = fix_answer(
            [
                {
                    "path": TYPES,
                    "line_hint": 7,
                    "quote": "    return total + 999",
                    "replacement": "    return total - 999",
                }
            ]
        )
        openai.rules.insert(0, Rule(text(answer), match="Files you may edit", times=1))
        comment = gh.add_issue_comment(
            repo, number, "alice", f"/codex fix the bug in {TYPES}: it adds instead of subtracting"
        )
        event = issue_comment_event(gh, repo, installation, comment)
        bot = stack.app.slug + "[bot]"

        def replies() -> list[str]:
            return [c["body"] for c in gh.issue_comments(repo, number) if c["user"]["login"] == bot]

        measure(
            f"/codex fix on the {len(change)}-file PR",
            lambda: stack.deliver("issue_comment", event, str(uuid.uuid4())),
            lambda: bool(replies()),
        )
        print("  reply: " + replies()[-1].splitlines()[0][:160])
        results["fix_reply"] = replies()[-1][:300]

    review_and_fix(30, False)
    review_and_fix(100, True)
    print(json.dumps({"latency": latency, "calls": results}))


if __name__ == "__main__":
    main()
