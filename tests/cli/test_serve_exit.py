"""``codex-bot serve`` is supervised as a unit: when one of its processes fails, the
whole command fails (exit status 1), so a supervisor sees it and restarts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from workers.redis_server import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]


def test_a_worker_that_dies_at_start_makes_serve_exit_1(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # DATA_DIR names a file: the worker's beat cannot keep its schedule there and dies.
    blocker = tmp_path / "data"
    blocker.write_text("not a directory\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "WEBHOOK_SECRET": "a-long-random-webhook-secret",
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "OPENAI_API_KEY": "sk-test-0",
        "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/11",
        "DATA_DIR": str(blocker),
        "PORT": str(free_port()),
        "LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-2000:]
