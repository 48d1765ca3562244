"""Settings of a worker process (``WorkerSettings``), read once at start-up and injected.

One object holds everything the worker reads, the model section included
(``workers.model.config.ModelSettings``), and checks it when built: a wrong
value stops ``codex-bot worker`` before it takes a job. Names follow Probot and
the OpenAI SDK: ``APP_ID``, ``PRIVATE_KEY`` (PEM; the escaped ``\\n`` form
Probot accepts works too) or ``PRIVATE_KEY_PATH``, ``GITHUB_API_URL``,
``OPENAI_API_KEY`` (comma-separated for several keys) and the other
``OPENAI_*`` / ``MODEL_*`` settings, ``REDIS_URL`` or ``CELERY_BROKER_URL``,
``LOG_LEVEL``. The class reads the environment only; the command-line entry
points also read ``.env`` by passing it to ``load_settings``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr, field_validator, model_validator

from codex_common.settings import ConfigError, load_settings
from workers.celery_app import CeleryConfigError, TaskLimits
from workers.model.config import ModelSettings, http_url

# A repository's model spend per calendar month unless MODEL_MONTHLY_BUDGET_USD says otherwise.
DEFAULT_MONTHLY_BUDGET_USD = Decimal("20")

__all__ = ["ConfigError", "GitHubSettings", "WorkerSettings", "load_settings", "read_private_key"]


def read_private_key(private_key: SecretStr | None, private_key_path: Path | None) -> bytes:
    """The App's private key as validated PEM bytes; the ``ValueError`` names the setting."""
    if private_key is not None:
        text = private_key.get_secret_value().replace("\\n", "\n")
        source = "PRIVATE_KEY"
    elif private_key_path is not None:
        try:
            text = private_key_path.read_text()
        except OSError as exc:
            raise ValueError(f"PRIVATE_KEY_PATH cannot be read: {exc.strerror}") from None
        source = "PRIVATE_KEY_PATH"
    else:
        raise ValueError("PRIVATE_KEY or PRIVATE_KEY_PATH is required")
    pem = text.strip().encode() + b"\n"
    try:
        load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{source} is not an unencrypted PEM private key") from None
    return pem


class GitHubSettings(ModelSettings):
    """The model section and the GitHub API's address: what every GitHub-facing command reads."""

    github_api_url: str = "https://api.github.com"
    # Where GitHub's web pages live, for links in posted text; unset: the pages GitHub's
    # API answers name (``html_url``). Set it only when those are not what people open.
    github_web_url: str | None = None
    # Seconds between one installation's content-creating requests; GitHub asks for
    # at least one. Lower only against a GitHub that allows it (e.g. an emulator).
    github_write_interval: float = Field(default=1.0, ge=0.0, le=60.0)
    # Seconds to wait for one answer from GitHub; a write that times out may still have
    # landed, and the client looks before writing again.
    github_timeout_seconds: float = Field(default=30.0, ge=1.0, le=300.0)
    # A finding the model is less sure of than this (0 to 1) is listed in the review
    # body, counted, instead of posted as an inline comment.
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    # The repository mirrors (bare partial clones, ``workers.mirror``) live in
    # DATA_DIR/mirrors and together stay under this many bytes (least recently used
    # evicted first); a repository larger than this alone is reviewed through the API.
    # 0: no mirror (contents through the API, searches over the changed files only).
    mirror_max_bytes: int = Field(default=5 * 1024**3, ge=0)
    # Tokens of related code (callers, definitions, tests) per segment's prompt; 0: none.
    context_tokens: int = Field(default=3_000, ge=0, le=50_000)

    @field_validator("github_api_url")
    @classmethod
    def _github_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("github_web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return http_url(value).rstrip("/") if value else None


class WorkerSettings(GitHubSettings):
    """Everything ``codex-bot worker`` reads, checked when built."""

    app_id: int = Field(gt=0)
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    soft_time_limit: int = Field(default=600, ge=1)
    time_limit: int = Field(default=660, ge=2)
    visibility_timeout: int = Field(default=900, ge=3)
    # A job whose process keeps dying is given up after this many starts.
    max_job_attempts: int = Field(default=3, ge=1, le=20)
    # Transient failures (GitHub or the model down, rate limits, Redis lost) are retried
    # with backoff until this many seconds after the job's first start; then it gives up
    # and says so on the check run or in the command's thread.
    job_deadline_seconds: int = Field(default=1800, ge=10, le=3 * 24 * 3600)
    # GitHub never redelivers a failed delivery by itself: every this many seconds the
    # worker's beat asks it to, for failures of the last REDELIVERY_LOOKBACK_SECONDS
    # (GitHub keeps 3 days). 0 turns the sweep off.
    redelivery_interval_seconds: int = Field(default=300, ge=0, le=24 * 3600)
    redelivery_lookback_seconds: int = Field(default=6 * 3600, ge=60, le=3 * 24 * 3600)
    # Model spending cap per repository and calendar month, for reviews and commands alike
    # (the model client's ledger keeps it): on by default, so that a public repository
    # cannot spend without bound. "none" removes it.
    model_monthly_budget_usd: Decimal | None = Field(default=DEFAULT_MONTHLY_BUDGET_USD, ge=0)
    # Automatic reviews of PRs whose author has no write access (forks, drive-by PRs):
    # "review" as anyone's, "limited" to so many a PR and an author a day, or "command":
    # only when a maintainer comments `/codex review` (workers.review.outsiders).
    outsider_reviews: Literal["review", "limited", "command"] = "limited"
    outsider_reviews_per_pr_per_day: int = Field(default=3, ge=1, le=1000)
    outsider_reviews_per_author_per_day: int = Field(default=10, ge=1, le=10_000)

    @field_validator("model_monthly_budget_usd", mode="before")
    @classmethod
    def _no_budget(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("none", "unlimited"):
            return None
        return value

    # Prometheus metrics of all the worker's processes, served by its parent; 0: off.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _check(self) -> WorkerSettings:
        self.private_key_pem()  # raises a ValueError naming the setting
        try:
            self.limits.check()
        except CeleryConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def limits(self) -> TaskLimits:
        return TaskLimits(
            soft_time_limit=self.soft_time_limit,
            time_limit=self.time_limit,
            visibility_timeout=self.visibility_timeout,
        )

    def private_key_pem(self) -> bytes:
        """The App's private key as PEM bytes, validated."""
        return read_private_key(self.private_key, self.private_key_path)

    def secrets(self) -> list[str]:
        """The values the logs must never show."""
        keys = [key.get_secret_value() for key in self.openai_api_key]
        return [*keys, self.private_key_pem().decode()]
