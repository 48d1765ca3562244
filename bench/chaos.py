"""Twenty pull requests through random faults of GitHub, the model, Redis and a worker.

Usage: python bench/chaos.py [PRS] [SEED]
Runs the chaos scenario of the test suite (``tests/e2e/chaos.py``: the real receiver,
two real workers with the beat, a real Redis, both emulators) and prints what was
injected and what came out of it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.chaos import chaos_stack, run_chaos
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator


def main(prs: int, seed: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="codex-chaos-"))
    github = GitHubEmulator(root / "github").start()
    openai = ResponsesEmulator().serve()
    stack = chaos_stack(root, github, openai)
    try:
        report = run_chaos(stack, prs=prs, seed=seed)
    finally:
        stack.stop()
        stack.redis_server.kill()
        openai.stop()
        github.stop()
    for line in report.lines():
        print(line)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 20,
        int(sys.argv[2]) if len(sys.argv) > 2 else 7,
    )
