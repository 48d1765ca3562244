"""Segment results cached by content, so an unchanged segment is never paid for twice.

The key is a SHA-256 over everything that decides the model's answer: the
model, the reasoning effort, the instructions and the input. A segment whose
prompt is byte-for-byte the same as one already reviewed (a redelivery, a
retried job after a crash, a `/codex review` of a head already reviewed)
reuses the stored findings at no cost. The input holds the pull request's
title, description and commit subjects and the segment's part number, so a
push that adds a commit reviews its segments afresh.

Only complete answers are stored: a failed, incomplete or over-budget call is
never cached, so it is tried again next time.

The cache is an optimisation, never a source of truth: a Redis error or a
malformed entry reads as a miss and a failed write is dropped, each with a log
line. Errors therefore never leave this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import redis

from workers.findings import Finding
from workers.model.wire import Usage

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 14 * 24 * 3600
_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class CachedSegment:
    """What a paid model call established about one segment."""

    findings: tuple[Finding, ...]
    needs_deeper: bool
    model: str
    usage: Usage

    def to_json(self) -> str:
        return json.dumps(
            {
                "findings": [finding.to_dict() for finding in self.findings],
                "needs_deeper": self.needs_deeper,
                "model": self.model,
                "usage": self.usage.to_dict(),
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from a stored entry; raises ``KeyError``/``TypeError``/``ValueError`` if
        the entry is not one this module wrote."""
        raw_usage = data["usage"]
        usage = Usage(
            input_tokens=int(raw_usage["input_tokens"]),
            cached_tokens=int(raw_usage["cached_tokens"]),
            output_tokens=int(raw_usage["output_tokens"]),
            reasoning_tokens=int(raw_usage["reasoning_tokens"]),
        )
        findings = tuple(Finding.from_dict(item) for item in data["findings"])
        return cls(
            findings=findings,
            needs_deeper=bool(data["needs_deeper"]),
            model=str(data["model"]),
            usage=usage,
        )


def cache_key(*, model: str, effort: str, instructions: str, input_text: str) -> str:
    """The content hash naming one segment's answer.

    Each part is length-prefixed so that moving text between the instructions and
    the input can never produce the same key.
    """
    digest = hashlib.sha256()
    for part in (_VERSION, model, effort, instructions, input_text):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class SegmentCache:
    """Segment answers in Redis under ``{prefix}:{hash}`` with a TTL."""

    redis: redis.Redis[bytes]
    prefix: str = "codex:segment"
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    def _name(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def get(self, key: str) -> CachedSegment | None:
        try:
            raw = self.redis.get(self._name(key))
        except redis.RedisError as exc:
            log.warning("segment cache read failed, treating as a miss: %s", exc)
            return None
        if raw is None:
            return None
        try:
            return CachedSegment.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("segment cache entry %s is malformed, ignoring it: %s", key, exc)
            return None

    def put(self, key: str, value: CachedSegment) -> None:
        try:
            self.redis.set(self._name(key), value.to_json(), ex=self.ttl_seconds)
        except redis.RedisError as exc:
            log.warning("segment cache write failed, the answer is not cached: %s", exc)
