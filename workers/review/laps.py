"""Wall time of the review flow's steps as they end, for the log; never used to decide."""

from __future__ import annotations

import time


class Laps:
    """Each step's seconds since the previous one ended."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self._laps.append((name, round(now - self._last, 3)))
        self._last = now

    def items(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._laps)
