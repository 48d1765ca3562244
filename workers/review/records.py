"""The review's own bookkeeping in Redis, per pull request.

Keys live under ``<prefix>:<owner/repo>#<number>`` and expire after the
configured TTL: the open check run per head (``:check:<sha>``), the last
reviewed head (``:last``), every reviewed head (``:heads``), every posted
finding fingerprint (``:fps``), one-time notices (``:notice:<name>``), the
posting lock (``:post-lock``) and the day's automatic reviews of an outsider's PR
(``:outsider:<day>``; per author under ``<prefix>:<owner/repo>:outsider:<login>:<day>``).
Redis errors propagate to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import redis

from codex_common.jobs import ReviewJob


class Notices(Protocol):
    """One-time notices per PR (``ReviewRecords`` keeps them)."""

    def first_notice(self, job: ReviewJob, name: str) -> bool: ...


class ReviewRecords:
    """Check-run ids, reviewed heads, posted fingerprints and notices of the PRs reviewed."""

    def __init__(self, client: redis.Redis[bytes], prefix: str, ttl: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl

    def _pr(self, job: ReviewJob) -> str:
        return f"{self._prefix}:{job.repository}#{job.pr_number}"

    def check_run(self, job: ReviewJob, head_sha: str) -> int | None:
        raw = self._redis.get(f"{self._pr(job)}:check:{head_sha}")
        return int(raw) if raw is not None else None

    def remember_check_run(self, job: ReviewJob, head_sha: str, check_run_id: int) -> None:
        self._redis.set(f"{self._pr(job)}:check:{head_sha}", check_run_id, ex=self._ttl)

    def forget_check_run(self, job: ReviewJob, head_sha: str) -> None:
        self._redis.delete(f"{self._pr(job)}:check:{head_sha}")

    def last_reviewed(self, job: ReviewJob) -> str | None:
        raw = self._redis.get(f"{self._pr(job)}:last")
        return raw.decode() if raw is not None else None

    def reviewed(self, job: ReviewJob, head_sha: str, fingerprints: Sequence[str]) -> None:
        """Record ``head_sha`` as reviewed and ``fingerprints`` as posted, in one transaction."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(f"{self._pr(job)}:last", head_sha, ex=self._ttl)
        pipe.sadd(f"{self._pr(job)}:heads", head_sha)
        pipe.expire(f"{self._pr(job)}:heads", self._ttl)
        if fingerprints:
            pipe.sadd(f"{self._pr(job)}:fps", *fingerprints)
            pipe.expire(f"{self._pr(job)}:fps", self._ttl)
        pipe.execute()

    def was_reviewed(self, job: ReviewJob, head_sha: str) -> bool:
        return bool(self._redis.sismember(f"{self._pr(job)}:heads", head_sha))

    def fingerprints(self, job: ReviewJob) -> frozenset[str]:
        return frozenset(m.decode() for m in self._redis.smembers(f"{self._pr(job)}:fps"))

    def first_notice(self, job: ReviewJob, name: str) -> bool:
        """True once per ``name`` per PR: for notices that must not repeat on every push."""
        return bool(self._redis.set(f"{self._pr(job)}:notice:{name}", 1, nx=True, ex=self._ttl))

    def outsider_reviews(self, job: ReviewJob, author: str, day: str) -> tuple[int, int]:
        """Automatic reviews of outsiders' PRs counted on ``day``: this PR's, this
        author's in this repository."""
        pr, by_author = self._redis.mget(
            f"{self._pr(job)}:outsider:{day}", self._author(job, author, day)
        )
        return int(pr or 0), int(by_author or 0)

    def count_outsider_review(self, job: ReviewJob, author: str, day: str) -> None:
        """Count one automatic review of an outsider's PR; the counts last two days."""
        pipe = self._redis.pipeline(transaction=True)
        for key in (f"{self._pr(job)}:outsider:{day}", self._author(job, author, day)):
            pipe.incr(key)
            pipe.expire(key, 2 * 24 * 3600)
        pipe.execute()

    def _author(self, job: ReviewJob, author: str, day: str) -> str:
        return f"{self._prefix}:{job.repository}:outsider:{author.lower()}:{day}"

    def post_lock(self, job: ReviewJob, timeout: int) -> redis.lock.Lock:
        return self._redis.lock(
            f"{self._pr(job)}:post-lock", timeout=timeout, blocking_timeout=timeout
        )
