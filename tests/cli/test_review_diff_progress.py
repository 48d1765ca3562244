"""``review-diff`` shows a progress bar over segments on a terminal, and nothing elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.emulators.openai import ResponsesEmulator
from workers.cli.review_diff import review_diff
from workers.redis_server import RedisServer

DIFF = "".join(
    f"diff --git a/m{i}.py b/m{i}.py\nnew file mode 100644\n--- /dev/null\n+++ b/m{i}.py\n"
    f"@@ -0,0 +1,2 @@\n+def f{i}():\n+    return {i}\n"
    for i in range(3)
)


@pytest.fixture
def env(
    openai_emulator: ResponsesEmulator, redis_server: RedisServer, tmp_path: Path
) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": openai_emulator.url,
        "OPENAI_ESCALATION_MODEL": "",
        "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/9",
        "CODEX_ENV_FILE": "",
    }


def test_a_terminal_sees_the_segments_counted(env: dict[str, str]) -> None:
    # FORCE_COLOR makes rich treat the output as a terminal.
    result = CliRunner().invoke(review_diff, ["-"], input=DIFF, env={**env, "FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.stderr  # drawn, then cleared (the bar is transient)
    assert "1/1" in result.stderr  # segments done / planned


def test_a_pipe_gets_no_progress_drawing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        review_diff,
        ["-", "--format", "json"],
        input=DIFF,
        env={**env, "FORCE_COLOR": "", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stderr
    assert result.stdout.lstrip().startswith("{")
