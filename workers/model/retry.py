"""Retry decisions: which failures to retry and how long to wait. Pure functions.

The wait honours, in order: ``retry-after-ms``, ``retry-after`` (seconds or an
HTTP date), then the ``x-ratelimit-reset-*`` duration of whichever limit is
exhausted, and otherwise exponential backoff with full jitter. ``x-should-retry``
from the server overrides the status-based choice.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds on retrying one call: attempts, per-wait cap, total waiting."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 16.0
    max_total_wait: float = 60.0


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration as sent in ``x-ratelimit-reset-*``: ``6m0s``, ``12ms``.

    A bare number is seconds. Anything else is ``None``.
    """
    text = text.strip()
    if not text:
        return None
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    total = 0.0
    position = 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            return None
        total += float(match["value"]) * _UNITS[match["unit"]]
        position = match.end()
    return total if position == len(text) else None


def server_delay(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """The wait the server asked for, in seconds, or ``None`` when it named none."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if (value := lowered.get("retry-after-ms")) is not None:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    if (value := lowered.get("retry-after")) is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max((when - now).total_seconds(), 0.0)
    # A reset time is a wait hint only for a limit that is used up (or not reported):
    # every answer carries reset times, and most of them say nothing about waiting.
    resets: list[float] = []
    for kind in ("requests", "tokens"):
        reset = lowered.get(f"x-ratelimit-reset-{kind}")
        seconds = parse_duration(reset) if reset is not None else None
        remaining = lowered.get(f"x-ratelimit-remaining-{kind}", "0").strip()
        if seconds is not None and remaining == "0":
            resets.append(seconds)
    return max(resets) if resets else None


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter: uniform in ``[0, min(cap, base * 2**attempt)]``; ``attempt`` counts from 0."""
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return rng.uniform(0.0, ceiling)


def should_retry(retryable: bool, headers: Mapping[str, str]) -> bool:
    hint = {name.lower(): value for name, value in headers.items()}.get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return retryable
