"""A wrong or placeholder setting stops each long-running command with one line and status 2.

The commands run as real processes, the way an operator starts them, in a
directory holding a fresh copy of ``.env.example`` (with a real key file where
it points): the placeholders it ships must be refused at start-up, by name,
not by a traceback from the first job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = REPO / ".env.example"


def example_value(name: str) -> str:
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not set in .env.example")


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def run(command: str, cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, time.monotonic() - started


def without_source_line(stderr: str) -> str:
    """stderr without the line each command starts with: which settings file it read."""
    announcement = ("codex-bot: settings from ", "codex-bot: no .env found;")
    return "".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith(announcement)
    )


def assert_one_line_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, result.stderr
    assert without_source_line(result.stderr).count("\n") == 1, result.stderr
    assert variable in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["worker", "doctor"])
def test_an_unknown_reasoning_effort_stops_the_command_by_name(
    tmp_path: Path, pem: str, command: str
) -> None:
    result, seconds = run(
        command,
        tmp_path,
        APP_ID="1",
        PRIVATE_KEY=pem,
        OPENAI_API_KEY="sk-real-looking-key",
        REDIS_URL="redis://127.0.0.1:1/0",
        OPENAI_REASONING_EFFORT="extreme",
    )
    assert_one_line_naming(result, "OPENAI_REASONING_EFFORT")
    assert seconds < 30


@pytest.mark.parametrize(
    ("command", "variable"),
    [("worker", "OPENAI_API_KEY"), ("doctor", "OPENAI_API_KEY"), ("serve", "WEBHOOK_SECRET"),
     ("web", "WEBHOOK_SECRET")],
)  # fmt: skip
def test_a_fresh_copy_of_env_example_is_refused_by_name(
    tmp_path: Path, pem: str, command: str, variable: str
) -> None:
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    key_path = tmp_path / example_value("PRIVATE_KEY_PATH")
    key_path.write_text(pem)
    result, seconds = run(command, tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    assert_one_line_naming(result, variable)
    assert example_value(variable) not in result.stderr
    assert seconds < 30


def test_with_the_placeholder_replaced_the_worker_gets_past_its_settings(
    tmp_path: Path, pem: str
) -> None:
    # The control for the test above: the same file with a real-looking key and secret
    # is accepted, so what stopped the worker was the placeholder.
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    (tmp_path / example_value("PRIVATE_KEY_PATH")).write_text(pem)
    result, _ = run(
        "doctor",
        tmp_path,
        OPENAI_API_KEY="sk-real-looking-key",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode == 1, result.stderr
    assert "settings      ok" in result.stdout
    assert "broker        FAIL" in result.stdout
