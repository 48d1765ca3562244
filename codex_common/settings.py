"""What every settings class shares: ``ConfigError``, ``load_settings`` and the validators.

Settings classes never read a ``.env`` file by themselves: the command-line
entry points pass the one ``find_env_file`` chose (``--env-file`` or
``CODEX_ENV_FILE``, else ``.env`` in the working directory, else ``.env`` at the
project root), so settings built anywhere else (tests, library use) see the
environment and their arguments only. ``load_settings`` turns a validation failure into one
``ConfigError`` line that names the environment variable and never echoes the
value, which may be the secret itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ENV_FILE",
    "ENV_FILE_VARIABLE",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDERS",
    "BaseProcessSettings",
    "ConfigError",
    "LogFormat",
    "LogLevel",
    "check_redis_url",
    "find_env_file",
    "load_settings",
    "refuse_placeholders",
    "split_secrets",
]

LogFormat = Literal["json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Values copied from templates and tutorials, ``.env.example`` included: a receiver
# keyed with one of them accepts forged deliveries from anybody who read the same
# page, and a worker started with one fails every job at its first model call.
# Every secret the project ships in an example (``.env.example``, README,
# ``docker-compose.yml``) must be listed here: a test scans those files.
PLACEHOLDERS: Final = frozenset(
    {
        "",
        "...",
        "changeme",
        "change-me",
        "changethis",
        "development",
        "development-secret",
        "replace-me",
        "replace-with-a-long-random-string",
        "secret",
        "sk-...",
        "xxx",
        "your-key",
        "your-api-key",
        "your-secret",
        "your-webhook-secret",
    }
)
# A webhook secret shorter than this is refused: GitHub recommends a long random string,
# and a short one can be guessed offline from one captured delivery and its signature.
MIN_SECRET_LENGTH: Final = 16
REDIS_SCHEMES: Final = ("redis", "rediss")
# Query parameters both the receiver and the worker's broker transport honour.
REDIS_QUERY: Final = frozenset({"db", "ssl_cert_reqs", "ssl_ca_certs"})
# The name of the settings file the command-line entry points look for (``find_env_file``).
ENV_FILE: Final = ".env"
# An explicit settings file; ``--env-file`` sets it, so child processes read the same file.
ENV_FILE_VARIABLE: Final = "CODEX_ENV_FILE"
# The checkout this package runs from (``pyproject.toml`` beside the packages), if any.
_PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]

_S = TypeVar("_S", bound=BaseSettings)


class ConfigError(Exception):
    """A setting is missing or wrong. ``str()`` is one line naming the setting."""


def find_env_file(
    explicit: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    project_root: Path | None = _PROJECT_ROOT,
) -> Path | None:
    """The settings file a command reads, or ``None`` when there is none.

    In order: ``explicit`` (``--env-file``), then ``CODEX_ENV_FILE``, which must
    name an existing file (``ConfigError`` otherwise); then ``.env`` in ``cwd``;
    then ``.env`` at the project root (a checkout: ``pyproject.toml`` beside the
    packages). The result is absolute, so processes started from elsewhere read
    the same file.
    """
    env = os.environ if environ is None else environ
    chosen = explicit if explicit else env.get(ENV_FILE_VARIABLE) or None
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"settings file {chosen} does not exist")
        return path.resolve()
    here = (cwd or Path.cwd()) / ENV_FILE
    if here.is_file():
        return here.resolve()
    if project_root is not None and (project_root / "pyproject.toml").is_file():
        root = project_root / ENV_FILE
        if root.is_file():
            return root.resolve()
    return None


def load_settings(cls: type[_S], *, env_file: str | Path | None = None, **overrides: Any) -> _S:
    """Build ``cls`` from the environment (and ``env_file`` if given), or raise ``ConfigError``."""
    try:
        return cls(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(cls, exc)) from None


def _one_line(cls: type[BaseSettings], exc: ValidationError) -> str:
    first = exc.errors()[0]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    loc = first.get("loc") or ()
    if not loc:
        return f"setting {message}"
    field_name = str(loc[0])
    info = cls.model_fields.get(field_name)
    env_name = field_name.upper()
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        env_name = " or ".join(str(c) for c in info.validation_alias.choices)
    elif info is None and field_name.isupper():
        env_name = field_name
    if first.get("type") == "missing":
        message = "is required"
    return f"setting {env_name}: {message}"


def split_secrets(value: object) -> object:
    """``a,b`` -> ``["a", "b"]``; blanks around commas are dropped."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def refuse_placeholders(secrets: list[SecretStr], *, min_length: int = 1) -> list[SecretStr]:
    """At least one secret, none a known placeholder or shorter than ``min_length``."""
    if not secrets:
        raise ValueError("is required")
    for secret in secrets:
        raw = secret.get_secret_value()
        if raw.lower() in PLACEHOLDERS or len(raw) < min_length:
            if min_length > 1:
                raise ValueError(
                    f"holds a placeholder or a value shorter than {min_length} characters"
                )
            raise ValueError("holds a placeholder")
    return secrets


def check_redis_url(value: str | None) -> str | None:
    """``redis://`` or ``rediss://`` with only what both processes understand; empty is
    unset. A URL one process would use and the other refuse (or silently ignore part
    of) is refused here, for both. The URL is not echoed (it may hold a password)."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError("must be a redis:// or rediss:// URL (Unix sockets are not supported)")
    unknown = sorted({name for name, _ in parse_qsl(parts.query)} - REDIS_QUERY)
    if unknown:
        raise ValueError(
            f"has the parameter `{unknown[0]}`, which not every process honours "
            f"(supported: {', '.join(sorted(REDIS_QUERY))})"
        )
    return value


class BaseProcessSettings(BaseSettings):
    """The settings every process reads: the broker, the data directory and logging."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CELERY_BROKER_URL")
    )
    data_dir: Path = Path("data")
    log_level: LogLevel = "INFO"
    # Unset: readable lines when stderr is a terminal, JSON lines otherwise.
    log_format: LogFormat | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return check_redis_url(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _empty_format_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
