"""Minimal anchored and unanchored findings for the selection and rendering tests.

They carry only the fields ``workers.review.select`` and ``render`` read, so a test
states exactly what it places without going through the diff engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.findings import Finding


@dataclass(frozen=True, slots=True)
class Anchored:
    finding: Finding
    path: str
    line: int
    start_line: int | None = None
    side: str = "RIGHT"
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class Missed:
    finding: Finding
    reason: str
