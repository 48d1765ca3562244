"""Plan reviews of the real-release corpus, ours and PR-Agent's side by side.

Usage: python bench/segment.py [--no-pr-agent] [rich requests flask fastapi django]

For each corpus diff it prints, for our planner and for PR-Agent 0.49.0's prompt
building (``get_pr_diff`` + ``get_pr_multi_diffs``): wall time, peak RSS,
coverage of reviewable changed lines, prompt/raw token ratio and segment count,
then our/their ratios. Each side runs in a fresh child process per diff, so peak
RSS is per diff and includes the tokenizer; wall time is the best of
``REPEATS`` runs in that process (the machine is shared) and excludes loading
the tokenizer and reading files, on both sides.

Our time covers parsing the whole ``git diff``, planning, and choosing each
segment's related code (callers, definitions, tests) over the new tree with
``workers.context`` at the default budget, as the worker does over its mirror;
``context_seconds`` and ``context_tokens`` say what that part costs (PR-Agent
has no such step). Our ratio is prompt tokens (diff only) over the exact token
count of the reviewed files' raw unified diff.
PR-Agent needs Python 3.12+: its virtual environment is created on first run in
``.cache/pr-agent-venv`` (``pip install pr-agent==0.49.0``). It gets the same
files, with base and head contents, from a fake git provider; ``tiktoken`` finds
``o200k_base`` in a cache directory we fill from our verified copy, so nothing
touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import CORPUS, corpus_diff, corpus_trees, head_contents

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "bench" / "pr_agent_driver.py"

REPEATS = 3
PR_AGENT = "pr-agent==0.49.0"
VENV = ROOT / ".cache" / "pr-agent-venv"
TIKTOKEN_CACHE = ROOT / ".cache" / "tiktoken"
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _raw_sections(raw: str, paths: set[str]) -> str:
    """The ``diff --git`` sections of ``raw`` whose new (or only) path is in ``paths``."""
    keep = []
    for chunk in re.split(r"^(?=diff --git )", raw, flags=re.MULTILINE):
        names = re.findall(r"^(?:\+\+\+ b/|--- a/)(.*)$", chunk.split("\n@@", 1)[0], re.M)
        if any(name.rstrip("\t") in paths for name in names):
            keep.append(chunk)
    return "".join(keep)


def measure(key: str) -> dict[str, float]:
    from workers.context.related import RelatedFinder
    from workers.diff import tokens
    from workers.diff.patch import parse_git_diff
    from workers.diff.plans import PlanOptions
    from workers.diff.segment import plan_review
    from workers.mirror import DirView

    raw = corpus_diff(key)
    tokens.o200k()  # vocabulary load is per process, not per plan
    # As the review pipeline does: head contents only of files with hunks that still exist.
    heads = head_contents(
        key, [f.path for f in parse_git_diff(raw) if f.hunks and not f.is_deleted]
    )
    _, new = corpus_trees(key)
    best = best_context = float("inf")
    peak = 0.0
    context_tokens = 0
    for _ in range(REPEATS):
        plan = None  # one plan alive at a time
        start = time.perf_counter()
        plan = plan_review(parse_git_diff(raw), heads, PlanOptions(total_tokens=10**9))
        planned = time.perf_counter()
        contexts = RelatedFinder(DirView(new), plan.files, heads).for_plan(plan)
        done = time.perf_counter()
        context_tokens = sum(c.tokens for c in contexts)
        best = min(best, done - start)
        best_context = min(best_context, done - planned)
        peak = peak or _rss_mb()
    text = raw.decode("utf-8", errors="replace")
    reviewed = {f.path for s in plan.segments for f in s.files}
    reviewed_raw = tokens.count(_raw_sections(text, reviewed))
    return {
        "diff_lines": raw.count(b"\n"),
        "seconds": round(best, 3),
        "context_seconds": round(best_context, 3),
        "context_tokens": context_tokens,
        "peak_rss_mb": peak,
        "coverage": round(plan.totals.coverage, 4),
        "segments": len(plan.segments),
        "files_reviewed": len(reviewed),
        "files_skipped": len(plan.skipped),
        "prompt_tokens": plan.totals.prompt_tokens,
        "raw_tokens_reviewed": reviewed_raw,
        "raw_tokens_all": tokens.count(text),
        "ratio": round(plan.totals.prompt_tokens / max(reviewed_raw, 1), 3),
    }


def _pr_agent_python() -> Path:
    python = VENV / "bin" / "python"
    if python.is_file():
        return python
    interpreter = shutil.which("python3.12") or shutil.which("python3.13")
    if interpreter is None:
        raise SystemExit("PR-Agent needs python3.12 or newer on PATH")
    subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PR_AGENT],
        check=True,
    )
    return python


def _tiktoken_cache() -> Path:
    """tiktoken's cache layout: the file named by the SHA-1 of its URL."""
    from workers.diff import tokens

    target = TIKTOKEN_CACHE / hashlib.sha1(O200K_URL.encode()).hexdigest()  # noqa: S324
    if not target.is_file():
        TIKTOKEN_CACHE.mkdir(parents=True, exist_ok=True)
        target.write_bytes(tokens.o200k_file())
    return TIKTOKEN_CACHE


def measure_pr_agent(key: str, python: Path, cache: Path) -> dict[str, float]:
    old, new = corpus_trees(key)
    corpus_diff(key)
    diff = ROOT / ".cache" / "corpus" / f"{key}.diff"
    best: dict[str, float] | None = None
    for _ in range(REPEATS):
        out = subprocess.run(
            [str(python), str(DRIVER), str(diff), str(old), str(new)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)},
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    changed = best["changed_lines"] or 1
    return {
        "seconds": best["seconds"],
        "peak_rss_mb": best["peak_rss_mb"],
        "coverage": round(best["changed_lines_in_whole_files"] / changed, 4),
        "segments": best["chunks"],
        "files_shown": best["files_shown"],
        "files_with_patch": best["files_with_patch"],
        "files_omitted": best["files_omitted"],
        "files_clipped": best["files_clipped"],
        "prompt_tokens": best["prompt_tokens"],
        "single_diff_tokens": best["single_diff_tokens"],
    }


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--one":
        print(json.dumps(measure(args[1])))
        return
    with_pr_agent = "--no-pr-agent" not in args
    keys = [a for a in args if not a.startswith("--")] or list(CORPUS)
    python = _pr_agent_python() if with_pr_agent else None
    cache = _tiktoken_cache() if with_pr_agent else None
    for key in keys:
        out = subprocess.run(
            [sys.executable, __file__, "--one", key], capture_output=True, text=True, check=True
        )
        ours = json.loads(out.stdout)
        ours["raw_ratio_all"] = round(ours["prompt_tokens"] / max(ours["raw_tokens_all"], 1), 3)
        print(f"{key:9} ours     {json.dumps(ours)}")
        if python is None or cache is None:
            continue
        theirs = measure_pr_agent(key, python, cache)
        theirs["ratio"] = round(theirs["prompt_tokens"] / max(ours["raw_tokens_all"], 1), 3)
        print(f"{key:9} pr-agent {json.dumps(theirs)}")
        ratios = {
            "time": round(ours["seconds"] / max(theirs["seconds"], 1e-9), 3),
            "peak_rss": round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 3),
            "coverage": round(ours["coverage"] / max(theirs["coverage"], 1e-9), 2),
            "segments": round(ours["segments"] / max(theirs["segments"], 1), 2),
        }
        print(f"{key:9} ours/pr-agent {json.dumps(ratios)}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    if "--one" not in sys.argv:
        print(f"total {time.perf_counter() - start:.1f} s")
