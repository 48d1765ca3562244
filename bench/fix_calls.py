"""GitHub calls and time of one ``/codex fix`` on a PR of 110 files.

Seeds the GitHub emulator with a PR of 110 modified files (a 66k-character
changelog first, a binary logo, 104 modules, and ``src/widget/types.py``, about
40k characters, late in the list), then runs ``/codex fix the bug in
src/widget/types.py ...`` through the real GitHub and model clients, in
process, against the GitHub and Responses emulators and a private Redis. The
model answers with the edit only when the prompt shows the named file whole.

Prints the outcome, the GitHub calls by kind (from the emulator's request
log), the prompt's size and where the named file sits in it, and the wall
time (median of ``--runs``).

Run: ``.venv/bin/python bench/fix_calls.py [--runs 3] [--github-latency 0.0]``
"""

from __future__ import annotations

import argparse
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

from tests.e2e.fix_helpers import (  # noqa: E402
    LARGE_NAMED,
    LARGE_REQUEST,
    answer_when_shown,
    fix_model,
    fix_seed,
    large_fix_edit,
    large_pr_files,
    outsider_gate,
    run_fix_comment,
    seed_large_pr,
)
from tests.emulators.github import GitHubEmulator  # noqa: E402
from tests.emulators.openai import ResponsesEmulator  # noqa: E402
from workers.redis_server import RedisServer  # noqa: E402


def kind(method: str, path: str) -> str:
    if method == "GET" and ("/contents/" in path or "/git/blobs/" in path):
        return "contents reads"
    if "/git/trees/" in path and method == "GET":
        return "tree reads"
    if re.search(r"/pulls/\d+/files$", path):
        return "PR file pages"
    if method != "GET":
        return "writes"
    return "other reads"


def one_run(
    root: Path, openai: ResponsesEmulator, redis_url: str, latency: float
) -> dict[str, object]:
    gh = GitHubEmulator(root, prefix="").start()
    try:
        world = fix_seed(gh)
        pr = seed_large_pr(world)
        content = str(large_pr_files("1.1")[LARGE_NAMED])
        openai.reset()
        openai.add(answer_when_shown(LARGE_NAMED, content, large_fix_edit()))
        model = fix_model(openai.url, redis_url, f"bench:{uuid.uuid4().hex[:8]}:model")
        if latency:
            gh.slow_next("GET", r".*", latency, times=100_000)
        before = len(gh.requests)
        started = time.perf_counter()
        outsiders = outsider_gate(redis_url)
        outcome, _ = run_fix_comment(world, model, outsiders, "alice", LARGE_REQUEST, pr.number)
        elapsed = time.perf_counter() - started
        model.close()
        calls = gh.requests[before:]
        prompt = str(openai.requests[-1].body["input"]) if openai.requests else ""
        first_file = re.search(r"<<<DATA file (\S+) ", prompt)
        return {
            "outcome": outcome,
            "files": pr.files,
            "calls": len(calls),
            "by_kind": Counter(kind(c.method, c.path) for c in calls),
            "prompt_chars": len(prompt),
            "first_file": first_file.group(1) if first_file else None,
            "seconds": elapsed,
        }
    finally:
        gh.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--github-latency", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer.start(Path(tmp) / "redis", durable=False)
        openai = ResponsesEmulator().serve()
        try:
            runs = [
                one_run(Path(tmp) / f"gh{i}", openai, redis.url, args.github_latency)
                for i in range(args.runs)
            ]
        finally:
            openai.stop()
            redis.stop()
    last = runs[-1]
    print(f"/codex fix on a {last['files']}-file PR naming {LARGE_NAMED}")
    print(f"  outcome: {last['outcome']}")
    print(f"  GitHub calls: {last['calls']}")
    for name, count in sorted(last["by_kind"].items()):  # type: ignore[attr-defined]
        print(f"    {name}: {count}")
    print(f"  prompt: {last['prompt_chars']:,} characters; first file shown: {last['first_file']}")
    seconds = [float(run["seconds"]) for run in runs]  # type: ignore[arg-type]
    print(
        f"  time: median {statistics.median(seconds):.2f} s over {len(seconds)} runs "
        f"(GitHub latency {args.github_latency:.2f} s per read)"
    )


if __name__ == "__main__":
    main()
