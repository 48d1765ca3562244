"""What the model may answer to a fix request, and its validation.

``FIX_SCHEMA`` is sent as strict structured output (``text.format``): every
property is required and ``additionalProperties`` is false, so absent values
are ``null``. The model's answer is untrusted: ``FixProposal.from_model_output``
validates it with pydantic (the trust boundary) and returns frozen values.
Nothing here decides *whether* an edit may be applied; ``workers.commands.apply``
does that against the PR's files.

Each edit replaces whole lines: ``quote`` is the exact current text of one or
more consecutive lines of ``path`` at the pinned head, ``replacement`` the
lines that take their place (empty to delete them). ``line_hint`` is where the
model believes the quote starts (1-based) and only guides the search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_NAME: Final = "codex_fix"
MAX_EDITS: Final = 40
MAX_SUMMARY_CHARS: Final = 2_000

FIX_EDIT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "line_hint", "quote", "replacement"],
    "properties": {
        "path": {
            "type": "string",
            "description": "Path of the file to change, repository-relative.",
        },
        "line_hint": {
            "type": ["integer", "null"],
            "description": "1-based line number where the quoted lines start, if known.",
        },
        "quote": {
            "type": "string",
            "description": "Exact current text of the whole lines to replace, newline-separated.",
        },
        "replacement": {
            "type": "string",
            "description": "The lines that replace the quoted lines; empty string deletes them.",
        },
    },
}

FIX_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "refusal", "edits"],
    "properties": {
        "summary": {
            "type": "string",
            "description": "One or two plain sentences describing the change, for the PR thread.",
        },
        "refusal": {
            "type": ["string", "null"],
            "description": "Why no edit is proposed (null when edits are given).",
        },
        "edits": {"type": "array", "items": FIX_EDIT_SCHEMA},
    },
}


class FixOutputError(ValueError):
    """The model's answer does not match ``FIX_SCHEMA``."""


class _EditModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: str = Field(min_length=1, max_length=400)
    line_hint: int | None
    quote: str = Field(min_length=1)
    replacement: str


class _FixModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    summary: str
    refusal: str | None
    edits: list[_EditModel] = Field(max_length=MAX_EDITS)


@dataclass(frozen=True, slots=True)
class ProposedEdit:
    """One whole-line replacement the model proposes; not yet checked against any file."""

    path: str
    quote: str
    replacement: str
    line_hint: int | None = None


@dataclass(frozen=True, slots=True)
class FixProposal:
    """The model's answer: edits plus a summary, or a refusal with no edits."""

    summary: str
    edits: tuple[ProposedEdit, ...]
    refusal: str | None = None

    @classmethod
    def from_model_output(cls, data: Mapping[str, Any]) -> Self:
        """Validate raw structured output. Raises ``FixOutputError``.

        Paths are normalised (leading ``./`` and ``/`` removed) but not judged here.
        """
        try:
            parsed = _FixModel.model_validate(dict(data))
        except ValidationError as exc:
            raise FixOutputError(f"fix output does not match the schema: {exc}") from exc
        edits = tuple(
            ProposedEdit(
                path=_normalise_path(edit.path),
                quote=edit.quote,
                replacement=edit.replacement,
                line_hint=edit.line_hint,
            )
            for edit in parsed.edits
        )
        refusal = parsed.refusal.strip() if parsed.refusal else None
        return cls(
            summary=parsed.summary.strip()[:MAX_SUMMARY_CHARS],
            edits=edits,
            refusal=refusal or None,
        )


def _normalise_path(path: str) -> str:
    cleaned = path.strip()
    while cleaned.startswith(("./", "/")):
        cleaned = cleaned[2:] if cleaned.startswith("./") else cleaned[1:]
    return cleaned
