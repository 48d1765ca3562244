"""Settings of the webhook receiver (``WebSettings``), read once at start-up and injected.

Names follow Probot and the OpenAI SDK so an existing ``.env`` keeps working:
``WEBHOOK_SECRET`` (comma-separated to rotate without downtime), ``REDIS_URL``
or ``CELERY_BROKER_URL``, ``HOST``, ``PORT``, ``LOG_LEVEL``, ``LOG_FORMAT``.
The class reads the environment only; ``codex-bot web`` and ``serve`` also read
``.env`` by passing it to ``load_settings``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from codex_common.settings import (
    MIN_SECRET_LENGTH,
    BaseProcessSettings,
    ConfigError,
    load_settings,
    refuse_placeholders,
    split_secrets,
)

__all__ = ["MIN_SECRET_LENGTH", "ConfigError", "WebSettings", "load_settings"]


class WebSettings(BaseProcessSettings):
    """Everything ``codex-bot web`` needs; the worker has its own ``WorkerSettings``."""

    webhook_secret: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
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
        return refuse_placeholders(value, min_length=MIN_SECRET_LENGTH)

    def secret_values(self) -> tuple[bytes, ...]:
        return tuple(s.get_secret_value().encode() for s in self.webhook_secret)
