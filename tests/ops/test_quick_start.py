"""The README's quick start on a fresh copy of the repository, as a new operator runs it.

The tracked files are copied into a temporary directory (what a clone holds, including
changes not yet committed); ``./dev`` runs there with ``VENV`` naming a virtual
environment that reuses the one running this test (its stamp says it is up to date,
so nothing is installed) and ``PYTHONPATH`` pointing at the copy, so the copy's code
runs. GitHub and the model are the emulators.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, text
from workers.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    target = tmp_path / "codex-review-bot"
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture
def venv(tmp_path: Path, clone: Path) -> Path:
    """A VENV for ./dev made of this test's interpreter, stamped as installed."""
    root = tmp_path / "venv"
    (root / "bin").mkdir(parents=True)
    here = Path(sys.executable).parent
    (root / "bin" / "python").symlink_to(sys.executable)
    (root / "bin" / "codex-bot").symlink_to(here / "codex-bot")
    stamp = subprocess.run(
        ["sh", "-c", 'echo "embedded $(cat pyproject.toml requirements-dev.lock | cksum)"'],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (root / ".installed").write_text(stamp)
    return root


def dev(clone: Path, venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(clone.parent),
        "VENV": str(venv),
        "PYTHONPATH": str(clone),
    }
    return subprocess.run(
        ["./dev", *args], cwd=clone, env=env, capture_output=True, text=True, timeout=120
    )


def write_env(clone: Path, values: dict[str, str]) -> None:
    """``cp .env.example .env`` and fill in ``values``, line by line as a person would."""
    lines = []
    left = dict(values)
    for line in (clone / ".env.example").read_text().splitlines():
        key = line.lstrip("# ").split("=", 1)[0]
        if "=" in line and key in left:
            line = f"{key}={left.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in left.items()]
    (clone / ".env").write_text("\n".join(lines) + "\n")


def test_without_env_the_first_run_says_what_to_copy_and_fill_in(clone: Path, venv: Path) -> None:
    result = dev(clone, venv, "serve")
    assert result.returncode == 2
    assert "copy .env.example to .env and fill in WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_with_env_doctor_passes_and_a_taken_port_is_exit_1(
    clone: Path,
    venv: Path,
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
) -> None:
    app = github_emulator.create_app("codex-review")
    github_emulator.create_repo("acme/calc", {"README.md": "calc\n"})
    github_emulator.create_installation(app, "acme", ["calc"])
    openai_emulator.add(text('{"ok": true}'), match="Answer with ok set to true.")
    (clone / "codex-review-bot.private-key.pem").write_text(app.private_key_pem)
    port = free_port()
    write_env(
        clone,
        {
            "APP_ID": str(app.id),
            "PRIVATE_KEY_PATH": "./codex-review-bot.private-key.pem",
            "WEBHOOK_SECRET": "a-long-random-webhook-secret",
            "GITHUB_API_URL": github_emulator.base_url,
            "OPENAI_API_KEY": "sk-test-0",
            "OPENAI_BASE_URL": openai_emulator.url,
            "PORT": str(port),
        },
    )

    doctor = dev(clone, venv, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"settings from {clone / '.env'}" in doctor.stderr
    report = doctor.stdout
    assert "broker        ok    REDIS_URL unset: serve will start" in report
    assert "github        ok    authenticated as the App codex-review" in report
    assert "acme: acme/calc" in report
    assert "model         ok" in report

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        serve = dev(clone, venv, "serve")
    assert serve.returncode == 1
    last = serve.stderr.strip().splitlines()[-1]
    assert last == f"codex-bot: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Traceback" not in serve.stderr
    # Nothing was started: no private Redis came up under DATA_DIR.
    assert not (clone / "data" / "redis").exists()
