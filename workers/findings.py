"""The finding contract shared by the model client, the anchor engine and the review.

A ``Finding`` is what the model claims: a path, the new-file lines it cites as
shown in the prompt, the exact text of those lines (``quote``), a priority and
prose. Nothing in it is trusted until the anchor engine has found ``quote`` in
the head file; the line numbers are only a hint of where to look.

``FINDINGS_SCHEMA`` is the strict JSON schema sent as ``text.format``. Strict
structured output needs every property listed in ``required`` and
``additionalProperties: false``; an absent suggestion is therefore ``null``.
Its numeric limits (``minimum``/``maximum`` of lines, priority and confidence,
``maxItems`` of the list) are the constants below, which the parser in
``workers.model.review`` enforces too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

PRIORITIES: Final = (0, 1, 2, 3)
MAX_FINDINGS: Final = 50
"""At most this many findings per segment; a longer answer keeps the most important."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem the model reports. ``priority`` 0 is the most severe (P0);
    ``confidence`` (0 to 1) is how sure the model is that the problem is real."""

    path: str
    line_start: int
    line_end: int
    quote: str
    priority: int
    title: str
    body: str
    suggestion: str | None = None
    confidence: float = 1.0

    @property
    def badge(self) -> str:
        return f"P{self.priority}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from an already schema-validated mapping (model output)."""
        suggestion = data.get("suggestion")
        return cls(
            path=str(data["path"]),
            line_start=int(data["line_start"]),
            line_end=int(data["line_end"]),
            quote=str(data["quote"]),
            priority=int(data["priority"]),
            title=str(data["title"]),
            body=str(data["body"]),
            suggestion=None if suggestion is None else str(suggestion),
            confidence=float(data.get("confidence", 1.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "quote": self.quote,
            "priority": self.priority,
            "title": self.title,
            "body": self.body,
            "suggestion": self.suggestion,
            "confidence": self.confidence,
        }


FINDING_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "path",
        "line_start",
        "line_end",
        "quote",
        "priority",
        "title",
        "body",
        "suggestion",
        "confidence",
    ],
    "properties": {
        "path": {"type": "string", "description": "File path exactly as shown in the diff."},
        "line_start": {
            "type": "integer",
            "minimum": 1,
            "description": "First cited new-file line number, as shown in the prompt.",
        },
        "line_end": {
            "type": "integer",
            "minimum": 1,
            "description": "Last cited new-file line number (equal to line_start for one line).",
        },
        "quote": {
            "type": "string",
            "description": "Exact text of the cited lines, newline-separated, without numbers.",
        },
        "priority": {
            "type": "integer",
            "enum": list(PRIORITIES),
            "description": "0 = must fix before merge (P0) ... 3 = minor (P3).",
        },
        "title": {"type": "string", "description": "One line, at most 80 characters."},
        "body": {
            "type": "string",
            "description": "The trigger, the consequence and the fix; brief.",
        },
        "suggestion": {
            "type": ["string", "null"],
            "description": (
                "Replacement for exactly the quoted lines, with the file's exact "
                "indentation, or null."
            ),
        },
        "confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "How sure you are that the problem is real, from 0 to 1.",
        },
    },
}

FINDINGS_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["findings", "needs_deeper_analysis"],
    "properties": {
        "findings": {
            "type": "array",
            "maxItems": MAX_FINDINGS,
            "description": "The most important problems first.",
            "items": FINDING_SCHEMA,
        },
        "needs_deeper_analysis": {
            "type": "boolean",
            "description": "True when the change is too subtle to judge with confidence.",
        },
    },
}
