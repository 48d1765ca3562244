"""Settings of the webhook receiver (``WebSettings``), read once at start-up and injected.

Names follow Probot and the OpenAI SDK so an existing ``.env`` keeps working:
``WEBHOOK_SECRET`` (comma-separated to rotate without downtime), ``REDIS_URL``
or ``CELERY_BROKER_URL``, ``HOST``, ``PORT``, ``LOG_LEVEL``, ``LOG_FORMAT``.
The class reads the environment only; ``codex-bot web`` and ``serve`` also read
``.env`` by passing it to ``load_settings``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.limits import ReceiverLimits
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

    # Hostile clients (see README "Security"). GitHub sends a delivery's headers and body
    # at once and gives up after 10 s, so a client slower than that is not GitHub.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # GitHub's headers take about 1 KB; larger ones are answered 431 unread.
    max_header_bytes: int = Field(default=32 * 1024, ge=4096, le=1024 * 1024)
    # Open connections per process; over it, the longest-waiting connection that has not
    # sent its headers yet is closed. The open-file limit is raised to fit at start-up.
    max_connections: int = Field(default=1000, ge=16, le=100_000)
    # Bodies being read at once, and the memory they may take together; a delivery that
    # does not fit gets 503 before its body is read. Must hold one body of MAX_BODY_BYTES.
    max_body_reads: int = Field(default=256, ge=1, le=10_000)
    body_buffer_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # At most one log line per kind of refused client and this many seconds, with a count.
    hostile_log_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Prometheus on its own listener, off the public webhook port; port 0 turns it off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # FastAPI's /docs, /redoc and /openapi.json: off unless asked for.
    openapi_docs: bool = False

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_secrets(value)

    @field_validator("webhook_secret")
    @classmethod
    def _no_placeholder(cls, value: list[SecretStr]) -> list[SecretStr]:
        return refuse_placeholders(value, min_length=MIN_SECRET_LENGTH)

    @model_validator(mode="after")
    def _buffer_holds_one_body(self) -> WebSettings:
        if self.body_buffer_bytes < self.max_body_bytes:
            raise ValueError(
                "BODY_BUFFER_BYTES must be at least MAX_BODY_BYTES "
                f"({self.max_body_bytes}), or no delivery of the largest size fits"
            )
        return self

    def limits(self) -> ReceiverLimits:
        return ReceiverLimits(
            header_timeout_seconds=self.header_timeout_seconds,
            body_timeout_seconds=self.body_timeout_seconds,
            max_header_bytes=self.max_header_bytes,
            max_connections=self.max_connections,
            max_body_reads=self.max_body_reads,
            body_buffer_bytes=self.body_buffer_bytes,
            max_body_bytes=self.max_body_bytes,
            hostile_log_interval_seconds=self.hostile_log_interval_seconds,
        )

    def secret_values(self) -> tuple[bytes, ...]:
        return tuple(s.get_secret_value().encode() for s in self.webhook_secret)
