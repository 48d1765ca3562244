"""Secrets the project ships as examples are refused; URL passwords never leave the process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import WebSettings
from codex_common.logs import mask_url
from codex_common.settings import MIN_SECRET_LENGTH, PLACEHOLDERS, ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]
# Every file a person copies settings from.
SHIPPED = (".env.example", "README.md", "docker-compose.yml", "Dockerfile", "app.yml")
# ``NAME=value``, ``NAME: value`` or ``NAME="value"`` for a name that holds a secret.
_ASSIGNMENT = re.compile(
    r"\b(?P<name>[A-Z][A-Z0-9_]*(?:SECRET|API_KEY|TOKEN|PASSWORD))\s*[=:]\s*"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s`|#,]+)"
)


def shipped_secret_values() -> list[tuple[str, str, str]]:
    found = []
    for name in SHIPPED:
        path = REPO / name
        if not path.exists():
            continue
        for match in _ASSIGNMENT.finditer(path.read_text()):
            value = match["value"].strip("\"'")
            found.append((name, match["name"], value))
    return found


def test_the_scan_finds_the_example_secrets() -> None:
    # The control for the test below: the scan does see what .env.example ships.
    names = {(file, name) for file, name, _ in shipped_secret_values()}
    assert (".env.example", "WEBHOOK_SECRET") in names
    assert (".env.example", "OPENAI_API_KEY") in names


@pytest.mark.parametrize(("file", "name", "value"), shipped_secret_values())
def test_every_secret_value_the_project_ships_is_a_refused_placeholder(
    file: str, name: str, value: str
) -> None:
    assert value.lower() in PLACEHOLDERS, f"{file}: {name}={value} is not in PLACEHOLDERS"


@pytest.mark.parametrize("value", sorted(PLACEHOLDERS))
def test_no_placeholder_is_accepted_as_webhook_secret(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(WebSettings, webhook_secret=value)
    assert str(info.value).startswith("setting WEBHOOK_SECRET:")


def test_a_secret_one_character_short_is_refused_and_the_minimum_accepted() -> None:
    with pytest.raises(ConfigError):
        load_settings(WebSettings, webhook_secret="k" * (MIN_SECRET_LENGTH - 1))
    settings = load_settings(WebSettings, webhook_secret="k" * MIN_SECRET_LENGTH)
    assert settings.secret_values() == (b"k" * MIN_SECRET_LENGTH,)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:secret@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:p%40ss@host:6380/1?ssl_cert_reqs=none", "rediss://user:***@host:6380/1?ssl_cert_reqs=none"),
        ("redis://:p@ss:w@host/0", "redis://:***@host/0"),
        ("Redis at redis://u:pw@h:1/0 is down", "Redis at redis://u:***@h:1/0 is down"),
        ("https://proxy.example:8080/path", "https://proxy.example:8080/path"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host/0", "redis://user@host/0"),
    ],
)  # fmt: skip
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_doctor_prints_the_broker_url_without_its_password(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "OPENAI_API_KEY": "sk-real-looking-key",
        "REDIS_URL": "redis://:hunter2-broker-pw@127.0.0.1:1/0",
        "GITHUB_API_URL": "http://127.0.0.1:1",
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    # The broker line names where it looked, never with the password.
    assert "redis://127.0.0.1:1/0" in result.stdout or "redis://:***@127.0.0.1:1/0" in result.stdout
    assert "hunter2-broker-pw" not in result.stdout + result.stderr
