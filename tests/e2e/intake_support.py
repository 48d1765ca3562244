"""Processes for the intake end-to-end tests: ``codex-bot web`` and ``codex-bot worker``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
CODEX_BOT = [sys.executable, "-m", "bot"]
WEBHOOK_SECRET = "e2e-webhook-secret-value"


def write_private_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def base_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_hard(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_hard()


def spawn(args: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> Proc:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*CODEX_BOT, *args],
            env=dict(env),
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(process=process, log=log)


def wait_until(
    predicate: Callable[[], object], timeout: float, what: str, proc: Proc | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.process.poll() is not None:
            raise AssertionError(f"process exited while waiting for {what}:\n{proc.text()[-3000:]}")
        time.sleep(0.1)
    tail = proc.text()[-3000:] if proc is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def http_ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
