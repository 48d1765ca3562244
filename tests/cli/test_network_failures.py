"""``review`` and ``review-diff`` meet GitHub, the model or Redis out of reach, or refusing
the credentials: one plain line on stderr and exit status 1, never a traceback.

The commands run as real processes with every URL pointing at a port nobody
listens on (or at the emulator with a credential it refuses).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.emulators.github import GitHubEmulator
from workers.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]
DIFF = b"""diff --git a/x.py b/x.py
--- a/x.py
+++ b/x.py
@@ -1 +1 @@
-a = 1
+a = 2
"""


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, "OPENAI_API_KEY": "sk-test-0", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def failure_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr + result.stdout
    return [line for line in result.stderr.splitlines() if "settings from" not in line]


def test_review_with_github_out_of_reach_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(["review", "acme/calc#1"], tmp_path, GITHUB_TOKEN="ghp_x", GITHUB_API_URL=url)
    assert result.returncode == 1
    assert failure_lines(result)[-1] == (
        f"codex-bot review: cannot reach GitHub at {url}: the connection was refused."
    )
    assert "urllib3" not in result.stderr


def test_review_with_a_refused_token_is_one_line(
    tmp_path: Path, github_emulator: GitHubEmulator
) -> None:
    result = run(
        ["review", "acme/calc#1"],
        tmp_path,
        GITHUB_TOKEN="ghp_not_a_token_the_emulator_issued",
        GITHUB_API_URL=github_emulator.base_url,
    )
    assert result.returncode == 1
    lines = failure_lines(result)
    assert lines == [
        f"codex-bot review: GitHub at {github_emulator.base_url} refused the credentials: "
        "the token is wrong, expired or revoked."
    ]


def test_review_with_redis_out_of_reach_is_one_line(
    tmp_path: Path, github_emulator: GitHubEmulator
) -> None:
    app = github_emulator.create_app("codex-review")
    github_emulator.create_repo("acme/calc", {"x.py": "a = 1\n"})
    installation = github_emulator.create_installation(app, "acme", ["calc"])
    token = github_emulator.create_user_token("octo", installation)
    github_emulator.commit("acme/calc", "feature", {"x.py": "a = 2\n"}, "Change a")
    number = github_emulator.create_pull("acme/calc", "feature", title="Change a", body="")
    port = free_port()
    result = run(
        ["review", f"acme/calc#{number}"],
        tmp_path,
        GITHUB_TOKEN=token,
        GITHUB_API_URL=github_emulator.base_url,
        REDIS_URL=f"redis://:hunter22@127.0.0.1:{port}/0",
    )
    assert result.returncode == 1
    assert failure_lines(result)[-1] == (
        f"codex-bot review: cannot reach Redis at redis://127.0.0.1:{port}/0: "
        "the connection was refused."
    )
    assert "hunter22" not in result.stderr


def test_review_diff_with_the_model_out_of_reach_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "change.diff").write_bytes(DIFF)
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run(["review-diff", "change.diff"], tmp_path, OPENAI_BASE_URL=url)
    assert result.returncode == 1
    lines = failure_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"codex-bot review-diff: no segment was reviewed: the model API at {url}"
    )
