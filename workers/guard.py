"""Run each job key at most once to completion: a done marker, a lease, an attempt cap.

``JobGuard.run(key, work)``:

1. a key already marked done is skipped (a redelivered or duplicated job);
2. a lease (``SET NX`` with a TTL just over the hard time limit) keeps two
   workers from running one key at once; a second copy that finds the lease
   held is dropped, because the holder's own message comes back if it dies;
3. every start that did not end is counted: a key started more than
   ``max_attempts`` times without ever returning or raising (a job that keeps
   killing its process) is given up; an attempt that raised is not counted, so
   the task may retry it (``workers.tasks``) until the job's deadline;
4. on success the key is marked done for ``done_ttl`` seconds and the lease is
   released; on an exception the lease is released and the exception propagates.

``elapsed(key, now)`` is the time since the key's first start, the base of
the job's deadline across retries and redeliveries.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Outcome(enum.Enum):
    RAN = "ran"
    ALREADY_DONE = "already_done"
    BUSY = "busy"
    GAVE_UP = "gave_up"


@dataclass(frozen=True, slots=True)
class JobGuard:
    client: redis.Redis[bytes]
    lease_seconds: int
    max_attempts: int = 3
    done_ttl: int = 14 * 24 * 3600
    prefix: str = "codex:job:"

    def _keys(self, key: str) -> tuple[str, str, str]:
        base = self.prefix + key
        return base + ":done", base + ":lease", base + ":attempts"

    def lease_left(self, key: str) -> float:
        """Seconds before the key's lease runs out (at least one)."""
        ttl = int(self.client.ttl(self._keys(key)[1]))
        return float(max(1, ttl))

    def elapsed(self, key: str, now: float) -> float:
        """Seconds since ``key`` first started (0 before its first start)."""
        raw = self.client.get(self.prefix + key + ":first")
        return max(0.0, now - float(raw)) if raw is not None else 0.0

    def is_done(self, key: str) -> bool:
        return bool(self.client.exists(self._keys(key)[0]))

    def attempts(self, key: str) -> int:
        value = self.client.get(self._keys(key)[2])
        return int(value) if value is not None else 0

    def run(self, key: str, work: Callable[[], object], *, now: float | None = None) -> Outcome:
        done, lease, attempts = self._keys(key)
        if self.client.exists(done):
            return Outcome.ALREADY_DONE
        token = secrets.token_hex(8)
        if not self.client.set(lease, token, nx=True, ex=self.lease_seconds):
            return Outcome.BUSY
        try:
            pipe = self.client.pipeline()
            pipe.incr(attempts)
            pipe.expire(attempts, self.done_ttl)
            pipe.set(self.prefix + key + ":first", time.time() if now is None else now, nx=True)
            pipe.expire(self.prefix + key + ":first", self.done_ttl)
            started = int(pipe.execute()[0])
            if started > self.max_attempts:
                self.client.set(done, b"gave-up", ex=self.done_ttl)
                return Outcome.GAVE_UP
            try:
                work()
            except BaseException:
                # It ended (with an error): not a start that killed its process.
                self.client.decr(attempts)
                raise
            self.client.set(done, b"done", ex=self.done_ttl)
            return Outcome.RAN
        finally:
            self.client.eval(_RELEASE, 1, lease, token)  # type: ignore[no-untyped-call]
