"""Pacing of content-creating requests, per installation.

GitHub's secondary limits ask integrations to send mutations one at a time and at
least a second apart. A ``Pacer`` serialises the writes of one installation and spaces
them by ``min_interval`` seconds. ``LocalPacer`` does it within one process;
``RedisPacer`` does it across every worker process sharing a Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import redis

from workers import metrics


class Pacer(Protocol):
    def slot(self, installation_id: int) -> AbstractContextManager[None]:
        """Hold the installation's write slot for one content-creating request."""
        ...


class LocalPacer:
    def __init__(
        self,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._last: dict[int, float] = {}

    @contextmanager
    def slot(self, installation_id: int) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(installation_id, threading.Lock())
        with lock:
            last = self._last.get(installation_id)
            if last is not None:
                wait = last + self.min_interval - self._clock()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last[installation_id] = self._clock()


class RedisPacer:
    """Serialises writes of an installation across processes with a Redis lock.

    The time of the last write is kept in Redis beside the lock, so spacing holds
    across processes too. ``lock_timeout`` bounds how long a crashed holder blocks others.
    """

    def __init__(
        self,
        client: redis.Redis[Any],
        key_prefix: str = "codex:github:pace",
        min_interval: float = 1.0,
        lock_timeout: float = 120.0,
    ) -> None:
        self._redis = client
        self._prefix = key_prefix
        self.min_interval = min_interval
        self._lock_timeout = lock_timeout

    @contextmanager
    def slot(self, installation_id: int) -> Iterator[None]:
        key = f"{self._prefix}:{installation_id}"
        with self._redis.lock(f"{key}:lock", timeout=self._lock_timeout, blocking_timeout=None):
            last = self._redis.get(f"{key}:last")
            if last is not None:
                wait = float(last) + self.min_interval - time.time()
                if wait > 0:
                    metrics.waited("github", wait)
                    time.sleep(wait)
            try:
                yield
            finally:
                self._redis.set(f"{key}:last", repr(time.time()), ex=3600)
