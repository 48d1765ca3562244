"""Settings: names compatible with Probot and the OpenAI SDK; one clear line on error;
``.env`` read only when an entry point passes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import WebSettings
from codex_common.settings import ConfigError, load_settings
from workers.config import WorkerSettings
from workers.model import ModelSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.upper() in {
            "WEBHOOK_SECRET", "REDIS_URL", "CELERY_BROKER_URL", "APP_ID", "PRIVATE_KEY",
            "PRIVATE_KEY_PATH", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GITHUB_API_URL", "PORT",
            "HOST", "LOG_LEVEL", "LOG_FORMAT", "OPENAI_REASONING_EFFORT", "MODEL_PRICES",
            "AZURE_OPENAI_DEPLOYMENTS", "OPENAI_MODEL",
        }:  # fmt: skip
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_web_settings_from_env_with_rotation_and_broker_alias(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "new-secret-value, old-secret-value")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker:6379/1")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(WebSettings)
    assert settings.secret_values() == (b"new-secret-value", b"old-secret-value")
    assert settings.redis_url == "redis://broker:6379/1"
    assert (settings.port, settings.log_level) == (8080, "DEBUG")
    assert "new-secret-value" not in repr(settings)


def test_dotenv_file_is_read_when_passed(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "WEBHOOK_SECRET=from-the-dotenv-file\nREDIS_URL=redis://x:1/0\n"
    )
    settings = load_settings(WebSettings, env_file=".env")
    assert settings.secret_values() == (b"from-the-dotenv-file",)


def test_a_bad_dotenv_in_the_working_directory_does_not_reach_settings_built_in_code(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text(
        "WEBHOOK_SECRET=changeme\nOPENAI_REASONING_EFFORT=extreme\nOPENAI_API_KEY=sk-...\n"
        "APP_ID=oops\nLOG_LEVEL=LOUD\nMODEL_PRICES={broken\n"
    )
    monkeypatch.setenv("WEBHOOK_SECRET", "good-secret-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("APP_ID", "7")
    monkeypatch.setenv("PRIVATE_KEY", pem())

    web = load_settings(WebSettings)
    worker = load_settings(WorkerSettings)
    model = ModelSettings()

    assert web.secret_values() == (b"good-secret-value",)
    assert (web.log_level, worker.log_level) == ("INFO", "INFO")
    assert (worker.app_id, worker.openai_reasoning_effort) == (7, "low")
    assert [k.get_secret_value() for k in model.openai_api_key] == ["sk-from-the-environment"]
    # The same file, passed as an entry point does, is read and refused.
    with pytest.raises(ConfigError):
        load_settings(WebSettings, env_file=".env")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "setting WEBHOOK_SECRET: is required"),
        ({"WEBHOOK_SECRET": ""}, "setting WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "changeme"}, "setting WEBHOOK_SECRET: holds a placeholder"),
        (
            {"WEBHOOK_SECRET": "good-secret-value-1,short"},
            "setting WEBHOOK_SECRET: holds a placeholder",
        ),
        # 15 characters: one short of the minimum.
        ({"WEBHOOK_SECRET": "fifteen-chars-x"}, "setting WEBHOOK_SECRET: holds a placeholder"),
        ({"WEBHOOK_SECRET": "good-secret-value-1", "PORT": "http"}, "setting PORT:"),
        ({"WEBHOOK_SECRET": "good-secret-value-1", "LOG_FORMAT": "xml"}, "setting LOG_FORMAT:"),
        # The worker's broker transport cannot use these: the receiver refuses them too.
        (
            {"WEBHOOK_SECRET": "good-secret-value-1", "REDIS_URL": "unix:///run/redis.sock"},
            "setting REDIS_URL: must be a redis://",
        ),
        (
            {
                "WEBHOOK_SECRET": "good-secret-value-1",
                "REDIS_URL": "rediss://h:6380/0?ssl_certfile=c",
            },
            "setting REDIS_URL: has the parameter `ssl_certfile`",
        ),
    ],
)
def test_bad_web_settings_name_the_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(WebSettings)
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message
    assert "changeme" not in message


def test_worker_settings_accept_probot_style_escaped_key(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ID", "123")
    monkeypatch.setenv("PRIVATE_KEY", pem().replace("\n", "\\n"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one-0000000000000000,sk-two-0000000000000000")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    settings = load_settings(WorkerSettings)
    assert settings.private_key_pem().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert len(settings.openai_api_key) == 2
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.openai_base_url == "https://api.openai.com/v1"
    assert settings.limits.visibility_timeout > settings.limits.lease > settings.time_limit


_BASE = {"APP_ID": "1", "OPENAI_API_KEY": "sk-x"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENAI_API_KEY": "sk-x"}, "setting APP_ID: is required"),
        (_BASE, "setting PRIVATE_KEY or PRIVATE_KEY_PATH is required"),
        ({**_BASE, "PRIVATE_KEY": "nope"}, "setting PRIVATE_KEY is not"),
        ({**_BASE, "PRIVATE_KEY_PATH": "/no/such.pem"}, "setting PRIVATE_KEY_PATH cannot be read"),
        ({"APP_ID": "1"}, "setting OPENAI_API_KEY: is required"),
        ({**_BASE, "GITHUB_API_URL": "ftp://x", "PRIVATE_KEY": "@"}, "setting GITHUB_API_URL:"),
        ({**_BASE, "OPENAI_REASONING_EFFORT": "extreme"}, "setting OPENAI_REASONING_EFFORT:"),
        ({**_BASE, "OPENAI_API_KEY": "sk-..."}, "setting OPENAI_API_KEY: holds a placeholder"),
        ({**_BASE, "OPENAI_API_KEY": "sk-a,changeme"}, "setting OPENAI_API_KEY: holds a"),
        ({**_BASE, "MODEL_PRICES": "{x"}, "setting MODEL_PRICES: is not valid JSON"),
        ({**_BASE, "MODEL_PRICES": '{"m": {"input": 1}}'}, "setting MODEL_PRICES: a price"),
        (
            {**_BASE, "MODEL_PRICES": '{"m": {"input": -1, "cached_input": 0, "output": 1}}'},
            "setting MODEL_PRICES: is not a valid price table",
        ),
        ({**_BASE, "AZURE_OPENAI_DEPLOYMENTS": "[1]"}, "setting AZURE_OPENAI_DEPLOYMENTS: must"),
        ({**_BASE, "AZURE_OPENAI_DEPLOYMENTS": "{x"}, "setting AZURE_OPENAI_DEPLOYMENTS: is not"),
        ({**_BASE, "OPENAI_BASE_URL": "api.openai.com"}, "setting OPENAI_BASE_URL: must be"),
        ({**_BASE, "REDIS_URL": "localhost:6379"}, "setting REDIS_URL: must be a redis://"),
    ],
)
def test_bad_worker_settings_name_the_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(WorkerSettings)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)
    assert "sk-..." not in str(info.value)


def test_the_model_section_is_read_whole_by_the_worker_settings(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ID", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one,sk-two")
    monkeypatch.setenv("PRIVATE_KEY", pem())
    monkeypatch.setenv("OPENAI_REASONING_EFFORT", "High")
    monkeypatch.setenv("OPENAI_ESCALATION_MODEL", "")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENTS", '{"gpt-5-codex-mini": "mini-eu"}')
    monkeypatch.setenv("MODEL_PRICES", '{"house": {"input": 1, "cached_input": 0, "output": 2}}')
    config = load_settings(WorkerSettings).to_config()
    assert [k.get_secret_value() for k in config.keys] == ["sk-one", "sk-two"]
    assert (config.reasoning_effort, config.escalation_model) == ("high", None)
    assert config.azure.deployment("gpt-5-codex-mini") == "mini-eu"
    assert config.prices.price("house").output == 2
    assert config.prices.price("gpt-5-codex-mini") == ModelSettings(
        openai_api_key="sk-z"  # type: ignore[arg-type]
    ).model_prices.price("gpt-5-codex-mini")


def test_visibility_timeout_must_exceed_the_job_lease(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ID", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("PRIVATE_KEY", pem())
    monkeypatch.setenv("VISIBILITY_TIMEOUT", "600")
    with pytest.raises(ConfigError, match="visibility timeout"):
        load_settings(WorkerSettings)


@pytest.mark.parametrize("command", ["web", "worker", "serve"])
def test_cli_exits_2_with_one_line(tmp_path: Path, command: str) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Which settings file was read (none here), the setting, and what to copy and fill in.
    assert result.returncode == 2
    source, setting, hint = result.stderr.splitlines()
    assert source.startswith("codex-bot: no .env found")
    assert setting.startswith("codex-bot: setting ")
    assert "copy .env.example to .env and fill in" in hint
