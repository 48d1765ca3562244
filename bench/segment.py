"""Plan reviews of the real-release corpus and print time, memory, coverage and token ratios.

Usage: python bench/segment.py [rich requests flask fastapi django]
Each diff is planned in a fresh child process so peak RSS is per diff.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import CORPUS, corpus_diff, head_contents


def measure(key: str) -> dict[str, float]:
    from workers.diff import tokens
    from workers.diff.patch import parse_git_diff
    from workers.diff.segment import PlanOptions, plan_review

    raw = corpus_diff(key)
    tokens.o200k()  # vocabulary load is per process, not per plan
    files = parse_git_diff(raw)
    heads = head_contents(key, [f.path for f in files])
    start = time.perf_counter()
    plan = plan_review(parse_git_diff(raw), heads, PlanOptions(total_tokens=10**9))
    elapsed = time.perf_counter() - start
    raw_tokens = tokens.count(raw.decode("utf-8", errors="replace"))
    return {
        "diff_lines": raw.count(b"\n"),
        "seconds": round(elapsed, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "coverage": round(plan.totals.coverage, 4),
        "segments": len(plan.segments),
        "prompt_tokens": plan.totals.prompt_tokens,
        "reviewed_diff_tokens": plan.totals.diff_tokens,
        "raw_diff_tokens": raw_tokens,
        "ratio_vs_reviewed": round(plan.totals.prompt_tokens / max(plan.totals.diff_tokens, 1), 3),
        "ratio_vs_raw": round(plan.totals.prompt_tokens / max(raw_tokens, 1), 3),
        "skipped_files": len(plan.skipped),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2])))
        return
    for key in sys.argv[1:] or list(CORPUS):
        out = subprocess.run(
            [sys.executable, __file__, "--one", key], capture_output=True, text=True, check=True
        )
        print(key, out.stdout.strip())


if __name__ == "__main__":
    main()
