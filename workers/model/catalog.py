"""What the bot knows about OpenAI's models without asking: lifecycle, efforts, parameters.

Pure data and functions. ``GET /v1/models`` tells whether a model is served to
a key, but its objects carry only ``id``, ``object``, ``created`` and
``owned_by``: shutdown dates and replacements are published on OpenAI's
deprecations page (https://platform.openai.com/docs/deprecations) and copied
into ``LIFECYCLE`` below. ``workers.model.lifecycle`` combines both.

Families are matched on the longest prefix of the model name, so a dated
snapshot (``gpt-5-codex-2025-09-15``) takes its family's rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


@dataclass(frozen=True, slots=True)
class Retirement:
    """A model's shutdown date and the replacement OpenAI names for it."""

    shutdown: date
    replacement: str


# From OpenAI's deprecations page (https://platform.openai.com/docs/deprecations),
# the announcements of 2026-04-22 ("Legacy GPT model snapshots") and 2026-05-08
# (gpt-5.2-chat-latest, gpt-5.3-chat-latest). Each row: model -> shutdown, substitute.
LIFECYCLE: Final[Mapping[str, Retirement]] = {
    "gpt-5-codex": Retirement(date(2026, 7, 23), "gpt-5.4"),
    "gpt-5.1-codex": Retirement(date(2026, 7, 23), "gpt-5"),
    "gpt-5.1-codex-max": Retirement(date(2026, 7, 23), "gpt-5.4"),
    "gpt-5.1-codex-mini": Retirement(date(2026, 7, 23), "gpt-5.4-mini"),
    "gpt-5.2-codex": Retirement(date(2026, 7, 23), "gpt-5.4"),
    "gpt-5-chat-latest": Retirement(date(2026, 7, 23), "gpt-5.3-chat-latest"),
    "gpt-5.1-chat-latest": Retirement(date(2026, 7, 23), "gpt-5.3-chat-latest"),
    "gpt-5.2-chat-latest": Retirement(date(2026, 8, 10), "gpt-5.5"),
    "gpt-5.3-chat-latest": Retirement(date(2026, 8, 10), "gpt-5.5"),
}

_SNAPSHOT: Final = re.compile(r"-\d{4}-\d{2}-\d{2}$")

WARN_DAYS: Final = 30
"""A configured model this close to its shutdown is a warning at start-up and in ``doctor``."""

_ALL: Final[frozenset[ReasoningEffort]] = frozenset(
    ("none", "minimal", "low", "medium", "high", "xhigh")
)
_CODEX: Final[frozenset[ReasoningEffort]] = frozenset(("low", "medium", "high"))
_CODEX_X: Final[frozenset[ReasoningEffort]] = frozenset(("low", "medium", "high", "xhigh"))
_GPT5: Final[frozenset[ReasoningEffort]] = frozenset(("minimal", "low", "medium", "high"))
_GPT51: Final[frozenset[ReasoningEffort]] = frozenset(("none", "low", "medium", "high"))
_GPT52: Final[frozenset[ReasoningEffort]] = frozenset(("none", "low", "medium", "high", "xhigh"))
_PRO: Final[frozenset[ReasoningEffort]] = frozenset(("medium", "high", "xhigh"))
_O: Final[frozenset[ReasoningEffort]] = frozenset(("low", "medium", "high"))

# Reasoning efforts each family accepts, from the models' pages: the codex models
# refuse ``minimal``; ``none`` arrived with gpt-5.1 and ``xhigh`` with gpt-5.1-codex-max.
EFFORTS: Final[Mapping[str, frozenset[ReasoningEffort]]] = {
    "gpt-5-codex": _CODEX,
    "gpt-5.1-codex": _CODEX,
    "gpt-5.1-codex-max": _CODEX_X,
    "gpt-5.2-codex": _CODEX_X,
    "gpt-5.3-codex": _CODEX_X,
    "gpt-5-pro": frozenset(("high",)),
    "gpt-5.2-pro": _PRO,
    "gpt-5.4-pro": _PRO,
    "gpt-5": _GPT5,
    "gpt-5.1": _GPT51,
    "gpt-5.2": _GPT52,
    "gpt-5.3": _GPT52,
    "gpt-5.4": _GPT52,
    "gpt-5.5": _GPT52,
    "o1": _O,
    "o3": _O,
    "o4-mini": _O,
}

# Reasoning models refuse ``temperature`` (400, param ``temperature``): never sent to them.
_NO_TEMPERATURE_PREFIXES: Final = ("gpt-5", "o1", "o3", "o4", "codex")


def family(model: str, table: Mapping[str, object]) -> str | None:
    """The longest key of ``table`` that is ``model`` or a prefix of it followed by ``-``."""
    if model in table:
        return model
    return max((name for name in table if model.startswith(name + "-")), key=len, default=None)


def allowed_efforts(model: str) -> frozenset[ReasoningEffort]:
    """The efforts ``model`` accepts; every effort for a model the table does not know."""
    name = family(model, EFFORTS)
    return EFFORTS[name] if name is not None else _ALL


def effort_problem(model: str, effort: ReasoningEffort) -> str | None:
    """Why ``effort`` cannot be sent to ``model``, or None."""
    allowed = allowed_efforts(model)
    if effort in allowed:
        return None
    ordered = [e for e in ("none", "minimal", "low", "medium", "high", "xhigh") if e in allowed]
    return f"{model} does not accept reasoning effort `{effort}` (it accepts {', '.join(ordered)})"


def accepts_temperature(model: str) -> bool:
    return not model.startswith(_NO_TEMPERATURE_PREFIXES)


def retirement(model: str) -> Retirement | None:
    """The published shutdown of ``model``, or of the alias a dated snapshot belongs to.

    Only a date suffix counts: ``gpt-5-codex-mini`` is not a snapshot of ``gpt-5-codex``.
    """
    return LIFECYCLE.get(_SNAPSHOT.sub("", model))
