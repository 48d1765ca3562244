"""``codex-bot stats [--repo R] [--since D] [--format table|json]``: reviews, findings by
priority, suggestions posted and applied by the author, model calls, tokens and dollars,
per repository and month, from the records the bot keeps in Redis (``workers.stats``).

With ``REDIS_URL`` unset (the README's ``serve`` set-up) the records are read from a
copy of the embedded broker's append-only file under ``DATA_DIR/redis``, loaded into a
throwaway ``redis-server``: a running ``serve`` is not disturbed. Threads resolved are
not reported: GitHub's REST API does not expose a thread's resolution.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import redis
from rich.console import Console

from codex_common.cli import env_file_option, settings_file, settings_help, settings_or_exit
from codex_common.settings import BaseProcessSettings, load_settings
from workers.cli.plain import redis_failure
from workers.model.ledger import BudgetLedger
from workers.redis_server import RedisServer, RedisServerError
from workers.stats.records import ReviewStats
from workers.stats.report import collect, render_table, rows_to_dict

_SINCE = re.compile(r"^(\d{4}-\d{2})(-\d{2})?$")
_LEDGER_PREFIX = "codex:model"  # ModelConfig.redis_prefix


@contextmanager
def _records(settings: BaseProcessSettings) -> Iterator[redis.Redis[bytes]]:
    if settings.redis_url:
        client: redis.Redis[bytes] = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=5, socket_timeout=10
        )
        try:
            yield client
        finally:
            client.close()
        return
    source = (settings.data_dir / "redis").resolve()
    if not (source / "appendonlydir").is_dir():
        raise click.ClickException(
            f"no records: REDIS_URL is unset and {source} holds no embedded broker data"
        )
    with tempfile.TemporaryDirectory(prefix="codex-stats-") as tmp:
        copy = Path(tmp) / "redis"
        shutil.copytree(source / "appendonlydir", copy / "appendonlydir")
        server = RedisServer.start(copy, durable=True)
        client = redis.Redis.from_url(server.url)
        try:
            yield client
        finally:
            client.close()
            server.stop()


@click.command(
    epilog=settings_help(
        (), "; reads REDIS_URL (unset: a copy of serve's broker under DATA_DIR/redis)"
    )
)
@env_file_option
@click.option("--repo", "repository", help="Only this repository (OWNER/NAME).")
@click.option("--since", help="Only months from this one on: YYYY-MM or YYYY-MM-DD.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default=None,
    help="table (the default on a terminal) or json (the default otherwise).",
)
def stats(
    env_file: Path | None, repository: str | None, since: str | None, fmt: str | None
) -> None:
    """Reviews, findings, applied suggestions, tokens and dollars per repository and month."""
    since_month = None
    if since is not None:
        match = _SINCE.match(since)
        if match is None:
            raise click.BadParameter("expected YYYY-MM or YYYY-MM-DD", param_hint="--since")
        since_month = match[1]
    env_file = settings_file(env_file, "codex-bot stats")
    settings = settings_or_exit(
        lambda: load_settings(BaseProcessSettings, env_file=env_file),
        env_file,
        (),
        "codex-bot stats",
    )
    try:
        with _records(settings) as client:
            ledger = BudgetLedger(client, prefix=_LEDGER_PREFIX, monthly_budget_usd=None)
            rows = collect(
                ReviewStats(client), ledger, repository=repository, since_month=since_month
            )
    except redis.RedisError as exc:
        click.echo(f"codex-bot stats: {redis_failure(settings.redis_url or '', exc)}", err=True)
        sys.exit(1)
    except RedisServerError as exc:
        click.echo(f"codex-bot stats: the embedded broker's copy did not start: {exc}", err=True)
        sys.exit(1)
    console = Console()
    if (fmt or ("table" if console.is_terminal else "json")) == "json":
        click.echo(json.dumps(rows_to_dict(rows), indent=2))
        return
    if not console.is_terminal:  # a file or a pipe: the whole table, not 80 columns of it
        console = Console(width=200)
    console.print(render_table(rows))
