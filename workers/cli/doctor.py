"""``codex-bot doctor``: check the worker's settings and every service it needs.

In order: the settings (the whole ``WorkerSettings``, model section and
private key included, from the environment and ``.env``; one line on stderr
naming a missing or wrong one), the broker (Redis ``PING``), the App's authentication against
``GITHUB_API_URL`` (``GET /app`` with the App JWT), and a minimal model call
(a few tokens of strict JSON). Each check prints ``ok`` or what is wrong in
plain words; the exit code is 0 when all pass, 1 otherwise, 2 when the
settings cannot even be read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import redis

from codex_common.logs import configure_logging, mask_url
from codex_common.settings import ENV_FILE, ConfigError, load_settings
from workers.config import WorkerSettings
from workers.github import GitHubApp
from workers.github.errors import AuthError, GitHubError, NotFound, TransportError
from workers.model import CallContext, ModelClient
from workers.model.errors import NoUsableKey
from workers.model.lifecycle import check_at_start

_PING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}},
}


@dataclass(frozen=True, slots=True)
class _Prompt:
    instructions: str
    input: str
    cache_key: str
    input_tokens: int


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_broker(settings: WorkerSettings) -> Check:
    if not settings.redis_url:
        return Check("broker", False, "REDIS_URL is not set (codex-bot serve starts its own)")
    client: redis.Redis[bytes] = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=3, socket_timeout=3
    )
    try:
        client.ping()
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy", "unknown")
    except redis.RedisError as exc:
        return Check("broker", False, f"Redis at {settings.redis_url} does not answer: {exc}")
    finally:
        client.close()
    if policy != "noeviction":
        return Check("broker", False, f"Redis answers but evicts keys ({policy}); set noeviction")
    return Check("broker", True, f"Redis answers at {settings.redis_url}")


def check_github(settings: WorkerSettings) -> Check:
    app = GitHubApp(settings.app_id, settings.private_key_pem().decode(), settings.github_api_url)
    try:
        identity = app.app_identity()
    except AuthError:
        return Check(
            "github",
            False,
            f"{settings.github_api_url} refused the App's JWT: APP_ID {settings.app_id} and the "
            "private key do not belong together, or the machine's clock is off",
        )
    except NotFound:
        return Check("github", False, f"{settings.github_api_url} has no /app: is it GitHub's API?")
    except TransportError as exc:
        return Check("github", False, f"cannot reach {settings.github_api_url}: {exc}")
    except GitHubError as exc:
        return Check("github", False, f"{settings.github_api_url} answered: {exc}")
    return Check("github", True, f"authenticated as the App {identity.slug} (id {identity.id})")


def _parse_ping(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise ValueError("expected an object with a boolean `ok`")
    return bool(data["ok"])


def check_model(settings: WorkerSettings) -> Check:
    config = settings.to_config()
    # The worker's start-up check: every configured model priced, not shut down, served.
    models = check_at_start(config)
    if models.problems:
        return Check("model", False, "; ".join(models.problems))
    notes = "".join(f"; warning: {warning}" for warning in models.warnings)
    if not settings.redis_url:
        return Check("model", False, "skipped: the model client needs the broker's Redis")
    store: redis.Redis[bytes] = redis.Redis.from_url(settings.redis_url)
    client = ModelClient.create(config, store)
    try:
        result = client.structured(
            _Prompt("Answer with ok set to true.", "ping", "codex-doctor", 8),
            CallContext(0, "codex-bot/doctor", 0, "0" * 40, "doctor"),
            "ping",
            _PING_SCHEMA,
            parse=_parse_ping,
        )
        parked = client.keys.parked_keys()
    except NoUsableKey as exc:
        return Check("model", False, str(exc))
    finally:
        client.close()
        store.close()
    if result.status != "ok":
        return Check("model", False, f"{config.model} at {config.base_url}: {result.error}")
    notes += "".join(f"; key {k.key_index + 1} parked ({k.reason})" for k in parked)
    return Check("model", True, f"{config.model} at {config.base_url} answers{notes}")


def run_checks(settings: WorkerSettings) -> list[Check]:
    checks: list[Check] = [Check("settings", True, "read"), Check("private key", True, "valid")]
    steps: list[Callable[[WorkerSettings], Check]] = [check_broker, check_github]
    for step in steps:
        checks.append(step(settings))
    if checks[2].ok:
        checks.append(check_model(settings))
    else:
        checks.append(Check("model", False, "not tried: the model client needs the broker"))
    return checks


@click.command()
def doctor() -> None:
    """Check configuration, key, broker, GitHub and the model."""
    # The clients log; only warnings reach the terminal, on stderr, away from the report.
    configure_logging("WARNING", "console")
    try:
        settings = load_settings(WorkerSettings, env_file=ENV_FILE)
    except ConfigError as exc:
        click.echo(f"settings      FAIL  {exc}", err=True)
        sys.exit(2)
    checks = run_checks(settings)
    for item in checks:
        click.echo(f"{item.name:<13} {'ok  ' if item.ok else 'FAIL'}  {mask_url(item.detail)}")
    sys.exit(0 if all(item.ok for item in checks) else 1)
