"""``codex-bot serve | web | worker | beat``.

* ``web``: the receiver under uvicorn (``WEB_WORKERS`` processes).
* ``worker``: a Celery worker on the ``reviews`` and ``commands`` queues; extra
  arguments after ``--`` go to Celery (``--include``, ``--pool``, ``--beat``...).
* ``beat``: the scheduler that sends the redelivery sweep; run exactly one per
  deployment (two would only sweep twice: the sweep is idempotent).
* ``serve``: the receiver and a worker with the beat embedded, on one machine.
  Without ``REDIS_URL`` it first starts a private, append-only ``redis-server``
  under ``DATA_DIR/redis``, so queued jobs survive a restart with nothing else
  installed.

Each reads the environment and one settings file (``--env-file``, else
``.env`` in the working directory, else at the project root) and says which on
stderr. A wrong or missing setting prints one line naming it and exits with
status 2. An address already in use is one line and exit status 1, and
``serve`` exits 1 when one of its processes fails.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import click

from bot.config import WebSettings
from codex_common.cli import (
    SERVE_NEEDS,
    WEB_NEEDS,
    WORKER_NEEDS,
    env_file_option,
    settings_file,
    settings_help,
    settings_or_exit,
)
from codex_common.logs import configure_logging, get_logger
from codex_common.settings import load_settings

if TYPE_CHECKING:
    from workers.config import WorkerSettings

log = get_logger("bot.cli")
_T = TypeVar("_T")
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BROKER = " and REDIS_URL (or CELERY_BROKER_URL)"


def _web_settings(env_file: Path | None) -> WebSettings:
    return settings_or_exit(
        lambda: load_settings(WebSettings, env_file=env_file), env_file, WEB_NEEDS
    )


def _port_free_or_exit(host: str, port: int) -> None:
    """Exit 1 with one line when ``host:port`` cannot be listened on (another process holds
    it), before anything is started; uvicorn binds with ``SO_REUSEADDR`` too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            click.echo(f"codex-bot: cannot listen on {host}:{port}: {reason}", err=True)
            sys.exit(1)


def _run_web(settings: WebSettings) -> None:
    from bot.server import GuardedConfig, GuardedHttpProtocol, raise_file_limit, serve

    limits = settings.limits()
    allowed = raise_file_limit(limits.max_connections)
    if allowed < limits.max_connections:
        log.warning(
            "open-file limit too low for MAX_CONNECTIONS: lowered",
            max_connections=limits.max_connections,
            lowered_to=allowed,
        )
        limits = replace(limits, max_connections=allowed)
    config = GuardedConfig(
        "bot.asgi:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.web_workers,
        loop="uvloop",
        http=GuardedHttpProtocol,
        ws="none",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=8,
        limits=limits,
    )
    serve(config)


@click.command(epilog=settings_help(WEB_NEEDS, _BROKER + "; optional HOST, PORT, WEB_WORKERS"))
@env_file_option
def web(env_file: Path | None) -> None:
    """Run only the webhook receiver."""
    # The receiver's metrics are per process (see the README); a multiprocess directory
    # meant for the workers must not switch its client library into file mode.
    os.environ.pop(_MULTIPROC_ENV, None)
    env_file = settings_file(env_file)
    settings = _web_settings(env_file)
    if not settings.redis_url:
        click.echo("codex-bot: setting REDIS_URL or CELERY_BROKER_URL: is required", err=True)
        sys.exit(2)
    _port_free_or_exit(settings.host, settings.port)
    configure_logging(settings.log_level, settings.log_format)
    log.info("receiver starting", host=settings.host, port=settings.port)
    _run_web(settings)


@click.command(
    context_settings={"ignore_unknown_options": True},
    epilog=settings_help(WORKER_NEEDS, _BROKER + "; optional WORKER_CONCURRENCY and the rest"),
)
@env_file_option
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(env_file: Path | None, celery_args: tuple[str, ...]) -> None:
    """Run only a Celery worker (CELERY_ARGS, after --, go to Celery)."""
    env_file = settings_file(env_file)
    _prepare_metrics_dir()
    settings = _worker_settings(env_file)
    if not settings.redis_url:
        click.echo("codex-bot: setting REDIS_URL or CELERY_BROKER_URL: is required", err=True)
        sys.exit(2)
    if settings.worker_metrics_port:
        _port_free_or_exit(settings.worker_metrics_host, settings.worker_metrics_port)
    # Only now the worker's code: a settings error above costs no import of it.
    from codex_common.jobs import COMMAND_QUEUE, REVIEW_QUEUE
    from workers import runtime
    from workers.celery_app import create_celery, effective_visibility_timeout
    from workers.metrics import connect_worker_signals
    from workers.model.lifecycle import check_at_start
    from workers.tasks import register_tasks, schedule_redelivery

    configure_logging(settings.log_level, settings.log_format, secrets=settings.secrets())
    # A model that is gone, unpriced or not served would fail every review: refuse to start.
    models = check_at_start(settings.to_config())
    for warning in models.warnings:
        log.warning("model check", detail=warning)
    if models.problems:
        click.echo(f"codex-bot: {'; '.join(models.problems)}", err=True)
        sys.exit(2)
    runtime.configure(settings)
    connect_worker_signals(
        settings.worker_metrics_host,
        settings.worker_metrics_port,
        settings.redis_url,
        (REVIEW_QUEUE, COMMAND_QUEUE),
        lambda: runtime.current().model.keys.parked_count(),
    )
    app = create_celery(settings.redis_url, settings.limits)
    register_tasks(app)
    schedule_redelivery(app, settings.redelivery_interval_seconds, settings.data_dir)
    with app.connection_for_read() as connection:
        effective = int(connection.transport_options.get("visibility_timeout", 3600))
    if effective != settings.visibility_timeout or effective != effective_visibility_timeout(app):
        click.echo(
            f"codex-bot: broker visibility timeout is {effective}s, expected "
            f"{settings.visibility_timeout}s",
            err=True,
        )
        sys.exit(2)
    log.info(
        "worker starting",
        visibility_timeout=effective,
        soft_time_limit=settings.soft_time_limit,
        time_limit=settings.time_limit,
        concurrency=settings.worker_concurrency,
    )
    argv = [
        "worker",
        "--queues", "reviews,commands",
        "--concurrency", str(settings.worker_concurrency),
        "--loglevel", settings.log_level,
        "--without-gossip", "--without-mingle",
        *celery_args,
    ]  # fmt: skip
    app.worker_main(argv)


def _prepare_metrics_dir() -> None:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before anything imports
    ``prometheus_client``, so every pool process counts into files the parent serves: the
    operator's (emptied of an earlier run's files) or a fresh one of this worker's own."""
    given = os.environ.get(_MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        return
    made = tempfile.mkdtemp(prefix="codex-worker-metrics-")
    os.environ[_MULTIPROC_ENV] = made
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:  # not in a forked pool process exiting
            shutil.rmtree(made, ignore_errors=True)

    atexit.register(remove)


@click.command(epilog=settings_help(WORKER_NEEDS, _BROKER + "; REDELIVERY_INTERVAL_SECONDS"))
@env_file_option
def beat(env_file: Path | None) -> None:
    """Run only the scheduler that sends the redelivery sweep (one per deployment)."""
    settings = _worker_settings(settings_file(env_file))
    if not settings.redis_url:
        click.echo("codex-bot: setting REDIS_URL or CELERY_BROKER_URL: is required", err=True)
        sys.exit(2)
    from workers.celery_app import create_celery
    from workers.tasks import schedule_redelivery

    configure_logging(settings.log_level, settings.log_format, secrets=settings.secrets())
    if settings.redelivery_interval_seconds <= 0:
        click.echo("codex-bot: REDELIVERY_INTERVAL_SECONDS is 0: nothing to schedule", err=True)
        sys.exit(2)
    app = create_celery(settings.redis_url, settings.limits)
    schedule_redelivery(app, settings.redelivery_interval_seconds, settings.data_dir)
    log.info("beat starting", interval_seconds=settings.redelivery_interval_seconds)
    app.start(["beat", "--loglevel", settings.log_level])


def _worker_settings(env_file: Path | None) -> WorkerSettings:
    from workers.config import WorkerSettings

    return settings_or_exit(
        lambda: load_settings(WorkerSettings, env_file=env_file), env_file, WORKER_NEEDS
    )


@contextmanager
def _embedded_redis(data_dir: Path) -> Iterator[str]:
    from workers.redis_server import RedisServer

    # Absolute: redis-server changes into --dir before opening its relative log file.
    server = RedisServer.start((data_dir / "redis").resolve(), durable=True)
    log.info("embedded broker started", port=server.port, data_dir=str(data_dir / "redis"))
    try:
        yield server.url
    finally:
        server.stop()
        log.info("embedded broker stopped")


@click.command(
    epilog=settings_help(
        SERVE_NEEDS, "; without REDIS_URL a private Redis is started under DATA_DIR/redis"
    )
)
@env_file_option
def serve(env_file: Path | None) -> None:
    """Run the receiver and a worker together on one machine."""
    env_file = settings_file(env_file)
    web_settings = settings_or_exit(
        lambda: load_settings(WebSettings, env_file=env_file), env_file, SERVE_NEEDS
    )
    _worker_settings(env_file)  # fail before starting anything
    _port_free_or_exit(web_settings.host, web_settings.port)
    configure_logging(web_settings.log_level, web_settings.log_format)
    stopping: list[int] = []
    failed: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with _broker(web_settings) as url:
            env = {**os.environ, "REDIS_URL": url}
            env.pop("CELERY_BROKER_URL", None)
            # The worker embeds the beat that sends the redelivery sweep.
            children = [
                subprocess.Popen([sys.executable, "-m", "bot", *role], env=env)
                for role in (("worker", "--beat"), ("web",))
            ]
            # Supervise: the first signal or the first child to exit stops everything.
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
            if not stopping:
                failed.extend(c.returncode for c in children if c.returncode is not None)
            log.info("stopping", signal=stopping[0] if stopping else None)
            for child in children:
                if child.poll() is None:
                    child.terminate()  # worker: warm shutdown, finish or hand back its job
            for child in children:
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        # A child that stopped by itself is a failure a supervisor must see, whatever its code.
        sys.exit(1)


@contextmanager
def _broker(settings: WebSettings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    with _embedded_redis(settings.data_dir) as url:
        yield url
