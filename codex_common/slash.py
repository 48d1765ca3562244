"""Parse ``/codex`` slash commands out of a comment body.

Shared by the receiver (should this comment make a job?) and the worker (what
does it ask?), so both read a comment the same way. The command is the first
line that starts with ``/codex``; lines quoted with ``>`` and lines inside
fenced code blocks never count, so quoting someone's command does not re-run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

KNOWN: Final = frozenset({"review", "fix", "help"})
_PREFIX: Final = "/codex"
_FENCES: Final = ("```", "~~~")

Subcommand = Literal["review", "fix", "help"]


@dataclass(frozen=True, slots=True)
class SlashCommand:
    """A parsed command. ``unknown`` holds what was typed when it was not a known subcommand;
    such a command is answered with the help text."""

    name: Subcommand
    argument: str
    unknown: str | None = None


def parse_command(body: str) -> SlashCommand | None:
    """The command in ``body``, or ``None`` when the comment holds none.

    ``/codex fix tidy the parser`` gives ``fix`` with argument ``tidy the parser``;
    the lines after the command line are part of the argument. ``/codexfoo`` is
    not a command; ``/codex`` alone and ``/codex frobnicate`` give ``help``.
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fence: str | None = None
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        opener = next((f for f in _FENCES if stripped.startswith(f)), None)
        if opener is not None:
            fence = opener
            continue
        if stripped.startswith(">") or not stripped.startswith(_PREFIX):
            continue
        rest = stripped[len(_PREFIX) :]
        if rest and not rest[0].isspace():
            continue
        words = rest.split(maxsplit=1)
        word = words[0].lower() if words else ""
        tail = [words[1]] if len(words) > 1 else []
        argument = "\n".join([*tail, *lines[index + 1 :]]).strip()
        if word in KNOWN:
            name: Subcommand = word  # type: ignore[assignment]
            return SlashCommand(name=name, argument=argument)
        return SlashCommand(name="help", argument="", unknown=word or None)
    return None
