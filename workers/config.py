"""Settings of a worker process (``WorkerSettings``), read once at start-up and injected.

Names follow Probot and the OpenAI SDK: ``APP_ID``, ``PRIVATE_KEY`` (PEM; the
escaped ``\\n`` form Probot accepts works too) or ``PRIVATE_KEY_PATH``,
``GITHUB_API_URL``, ``OPENAI_API_KEY`` (comma-separated for several keys),
``OPENAI_BASE_URL``, ``REDIS_URL`` or ``CELERY_BROKER_URL``, ``LOG_LEVEL``.
Add fields for new features here; keep them typed and defaulted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workers.celery_app import CeleryConfigError, TaskLimits

_S = TypeVar("_S", bound=BaseSettings)


class ConfigError(Exception):
    """A setting is missing or wrong. ``str()`` is one line naming the setting."""


def load_settings(cls: type[_S], **overrides: Any) -> _S:
    """Build ``cls`` from the environment (and ``.env``), or raise a one-line ``ConfigError``.

    The message names the environment variable and never echoes the value, which
    may be the secret itself.
    """
    try:
        return cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        loc = first.get("loc") or ()
        if not loc:
            raise ConfigError(f"setting {message}") from None
        field_name = str(loc[0])
        info = cls.model_fields.get(field_name)
        env_name = field_name.upper()
        if info is not None and isinstance(info.validation_alias, AliasChoices):
            env_name = " or ".join(str(c) for c in info.validation_alias.choices)
        elif info is None and field_name.isupper():
            env_name = field_name
        if first.get("type") == "missing":
            message = "is required"
        raise ConfigError(f"setting {env_name}: {message}") from None


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    app_id: int = Field(gt=0)
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    github_api_url: str = "https://api.github.com"
    openai_api_key: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)
    openai_base_url: str = "https://api.openai.com/v1"
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CELERY_BROKER_URL")
    )
    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    soft_time_limit: int = Field(default=600, ge=1)
    time_limit: int = Field(default=660, ge=2)
    visibility_timeout: int = Field(default=900, ge=3)
    # A job whose process keeps dying is given up after this many starts.
    max_job_attempts: int = Field(default=3, ge=1, le=20)
    # Seconds between one installation's content-creating requests; GitHub asks for
    # at least one. Lower only against a GitHub that allows it (e.g. an emulator).
    github_write_interval: float = Field(default=1.0, ge=0.0, le=60.0)

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("github_api_url", "openai_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

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
        if self.private_key is not None:
            text = self.private_key.get_secret_value().replace("\\n", "\n")
            source = "PRIVATE_KEY"
        elif self.private_key_path is not None:
            try:
                text = self.private_key_path.read_text()
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
