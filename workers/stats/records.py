"""What ``codex-bot stats`` reads, written by the review flow as it goes.

Keys (under ``codex:stats``, kept 400 days like the ledger's months):

* ``repos``: the set of repositories with a review recorded;
* ``{repo}:{YYYY-MM}``: a hash of counters for the month a review was posted:
  ``reviews``, ``p0``..``p3`` (findings posted, inline or in the body),
  ``inline``, ``suggestions`` and ``applied`` (suggestions of that month's
  reviews the author applied later);
* ``{repo}#{n}:suggestions``: per pull request, each suggestion posted inline
  (by fingerprint): its file, first line, text, head and month, and the head it
  was found applied at.

Applied suggestions are found when the next review of the pull request runs
(``check_applied``, with the new head's contents the flow reads anyway): a file
the author changed since the last review is in that review's diff, so its
contents are at hand without another request to GitHub; a file not in it did
not change, so nothing there was applied. Redis errors propagate to the caller,
which treats these records as optional (``workers.review.flow`` logs and goes on).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import redis

from workers.model.ledger import month_of
from workers.stats.applied import suggestion_applied

PREFIX: Final = "codex:stats"
_TTL: Final = 400 * 24 * 3600
PRIORITIES: Final = ("p0", "p1", "p2", "p3")
COUNTERS: Final = ("reviews", *PRIORITIES, "inline", "suggestions", "applied")


@dataclass(frozen=True, slots=True)
class PostedFinding:
    """One finding a review posted: enough to count it and to find its suggestion later."""

    fingerprint: str
    priority: int
    inline: bool
    path: str
    start_line: int
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class MonthCounts:
    repository: str
    month: str
    counts: Mapping[str, int]


class ReviewStats:
    """Counters per repository and month, and the suggestions of each pull request."""

    def __init__(self, client: redis.Redis[bytes], prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def _month(self, repository: str, month: str) -> str:
        return f"{self._prefix}:{repository}:{month}"

    def _suggestions(self, repository: str, number: int) -> str:
        return f"{self._prefix}:{repository}#{number}:suggestions"

    def posted(
        self,
        repository: str,
        number: int,
        head_sha: str,
        findings: Iterable[PostedFinding],
        at: float,
    ) -> None:
        """Count one posted review and its findings; remember its suggestions."""
        month = month_of(at)
        counters = self._month(repository, month)
        suggestions = self._suggestions(repository, number)
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(f"{self._prefix}:repos", repository)
        pipe.hincrby(counters, "reviews", 1)
        for item in findings:
            pipe.hincrby(counters, PRIORITIES[min(max(item.priority, 0), 3)], 1)
            if item.inline:
                pipe.hincrby(counters, "inline", 1)
            if item.inline and item.suggestion is not None:
                pipe.hincrby(counters, "suggestions", 1)
                record = {
                    "path": item.path,
                    "start_line": item.start_line,
                    "suggestion": item.suggestion,
                    "head": head_sha,
                    "month": month,
                    "applied_head": None,
                }
                pipe.hsetnx(suggestions, item.fingerprint, json.dumps(record))
        pipe.expire(counters, _TTL)
        pipe.expire(suggestions, _TTL)
        pipe.execute()

    def check_applied(
        self, repository: str, number: int, head_sha: str, contents: Mapping[str, str]
    ) -> int:
        """Mark the pull request's suggestions that ``contents`` (files at ``head_sha``)
        carry as applied; returns how many were newly found."""
        key = self._suggestions(repository, number)
        raw: Mapping[bytes, bytes] = self._redis.hgetall(key)
        found = 0
        for fingerprint, value in raw.items():
            record: dict[str, Any] = json.loads(value)
            if record.get("applied_head") or record["head"] == head_sha:
                continue
            content = contents.get(str(record["path"]))
            if content is None:
                continue
            if not suggestion_applied(content, int(record["start_line"]), record["suggestion"]):
                continue
            record["applied_head"] = head_sha
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(key, fingerprint, json.dumps(record))
            pipe.hincrby(self._month(repository, str(record["month"])), "applied", 1)
            pipe.execute()
            found += 1
        return found

    def repositories(self) -> list[str]:
        return sorted(m.decode() for m in self._redis.smembers(f"{self._prefix}:repos"))

    def months(self, repository: str) -> Iterator[MonthCounts]:
        """Every month recorded for ``repository``, oldest first."""
        pattern = f"{self._prefix}:{repository}:*"
        keys = sorted(k.decode() for k in self._redis.scan_iter(match=pattern, count=500))
        for key in keys:
            month = key.rsplit(":", 1)[1]
            raw: Mapping[bytes, bytes] = self._redis.hgetall(key)
            counts = {name: int(raw.get(name.encode(), b"0")) for name in COUNTERS}
            yield MonthCounts(repository, month, counts)
