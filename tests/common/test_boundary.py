"""The process boundary: the receiver loads no worker code, and ``codex_common`` loads neither side.

Checked in a fresh interpreter, so modules imported by other tests do not hide an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The worker's code and the libraries only the worker needs: Celery and kombu (the
# receiver writes the task message itself), PyGithub, the tokenizer, the model client's HTTP.
WORKER_ONLY = ("workers", "celery", "kombu", "github", "tiktoken", "httpx")


def loaded_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(result.stdout)
    return modules


@pytest.mark.parametrize("module", ["bot.main", "bot.asgi", "bot.cli", "bot.cli.serve"])
def test_the_receiver_loads_nothing_of_the_worker(module: str) -> None:
    modules = loaded_after(f"import {module}")
    assert module in modules
    leaked = [m for m in modules if m.split(".")[0] in WORKER_ONLY]
    assert leaked == []


def test_codex_common_loads_neither_the_receiver_nor_the_worker() -> None:
    modules = loaded_after(
        "import codex_common.jobs, codex_common.slash, codex_common.logs, codex_common.settings"
    )
    assert "codex_common.settings" in modules
    assert [m for m in modules if m.split(".")[0] in ("bot", "workers")] == []
