"""Settings of the webhook receiver, read once at start-up and injected.

Names follow Probot and the OpenAI SDK so an existing ``.env`` keeps working:
``WEBHOOK_SECRET`` (comma-separated to rotate without downtime), ``REDIS_URL``
or ``CELERY_BROKER_URL``, ``HOST``, ``PORT``, ``LOG_LEVEL``. A ``.env`` file in
the working directory is read when present. ``load_settings`` turns a
validation failure into one ``ConfigError`` line that names the setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workers.config import ConfigError, load_settings

__all__ = ["ConfigError", "WebSettings", "load_settings"]

LogFormat = Literal["json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Values copied from templates and tutorials; a receiver keyed with one of them
# accepts forged deliveries from anybody who read the same page.
_PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "secret", "development", "development-secret", "xxx", "..."}
)
MIN_SECRET_LENGTH = 8


def split_secrets(value: object) -> object:
    """``a,b`` -> ``["a", "b"]``; blanks around commas are dropped."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def refuse_placeholders(secrets: list[SecretStr]) -> list[SecretStr]:
    if not secrets:
        raise ValueError("is required")
    for secret in secrets:
        raw = secret.get_secret_value()
        if raw.lower() in _PLACEHOLDERS or len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"holds a placeholder or a value shorter than {MIN_SECRET_LENGTH} characters"
            )
    return secrets


class WebSettings(BaseSettings):
    """Everything ``codex-bot web`` needs; the worker has its own ``WorkerSettings``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    webhook_secret: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CELERY_BROKER_URL")
    )
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "json"
    # Optional: recognises this App's own comments (performed_via_github_app.id,
    # sender login "<slug>[bot]") so the bot never answers itself.
    app_id: int | None = None
    app_slug: str | None = None
    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # How long an accepted delivery id is remembered; GitHub redelivers up to 3 days back
    # (7 on Enterprise Server).
    ledger_ttl_seconds: int = Field(default=8 * 24 * 3600, ge=60)
    # Bound on one publish attempt when the broker is down: the webhook answers 503 fast
    # instead of running into GitHub's 10 s delivery timeout.
    broker_timeout_seconds: float = Field(default=1.0, gt=0, le=8)
    # One process (one event loop) keeps /metrics coherent (each process counts on its
    # own) and answers thousands of deliveries a second. More processes pay off only
    # with idle cores to spare: measured on 2 shared cores (bench/intake.py) a second
    # one helped on a quiet machine and hurt throughput and p99 on a busy one.
    web_workers: int = Field(default=1, ge=1, le=64)

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_secrets(value)

    @field_validator("webhook_secret")
    @classmethod
    def _no_placeholder(cls, value: list[SecretStr]) -> list[SecretStr]:
        return refuse_placeholders(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def secret_values(self) -> tuple[bytes, ...]:
        return tuple(s.get_secret_value().encode() for s in self.webhook_secret)
