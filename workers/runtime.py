"""What a worker process shares between its jobs: settings and long-lived clients.

``Runtime.from_settings`` builds it; ``configure(settings)`` is called once by
the worker command before the pool starts, with settings already checked
whole (the model section included), and ``current()`` builds the runtime
lazily in each pool process (after the fork, so no connection is shared
between processes). Other parts add their clients (GitHub, model) here.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import redis

from workers.config import WorkerSettings
from workers.diff import tokens
from workers.github import GitHubApp, RedisPacer
from workers.model import ModelClient
from workers.review.outcome import pipeline_settings


class RuntimeNotConfigured(RuntimeError):
    """A task ran in a process where ``configure`` was never called."""


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: WorkerSettings
    redis: redis.Redis[bytes]
    github: GitHubApp
    model: ModelClient

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> Runtime:
        if not settings.redis_url:
            raise RuntimeNotConfigured("the worker needs REDIS_URL")
        client: redis.Redis[bytes] = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
        github = GitHubApp(
            settings.app_id,
            settings.private_key_pem().decode(),
            settings.github_api_url,
            pacer=RedisPacer(
                client,
                min_interval=settings.github_write_interval,
                # A slot is held for one request: a holder killed mid-write must not stall
                # the installation's other writes for longer than that request could take.
                lock_timeout=settings.github_timeout_seconds + settings.github_write_interval + 5,
            ),
            timeout=settings.github_timeout_seconds,
            # One connection per thread that shares a client, so none is thrown away.
            pool_size=pipeline_settings(settings).github_threads,
        )
        model = ModelClient.create(settings.to_config(), client)
        # Loading the tokenizer takes seconds: start now, not in the first review.
        threading.Thread(target=tokens.o200k, name="warm-tokenizer", daemon=True).start()
        return cls(settings=settings, redis=client, github=github, model=model)


_settings: WorkerSettings | None = None
_runtime: tuple[int, Runtime] | None = None


def configure(settings: WorkerSettings) -> None:
    global _settings, _runtime
    _settings = settings
    _runtime = None


def current() -> Runtime:
    """This process's runtime, built on first use after ``configure``."""
    global _runtime
    pid = os.getpid()
    if _runtime is not None and _runtime[0] == pid:
        return _runtime[1]
    if _settings is None:
        raise RuntimeNotConfigured("workers.runtime.configure() was not called in this process")
    runtime = Runtime.from_settings(_settings)
    _runtime = (pid, runtime)
    return runtime
