"""``/codex help``, and the answer to a subcommand nobody knows: the help text."""

from __future__ import annotations

from workers.commands import messages
from workers.commands.context import CommandOutcome, Context


def answer_help(ctx: Context, unknown: str | None) -> CommandOutcome:
    """Reply with the help text (naming ``unknown`` when that was typed); no final reaction."""
    ctx.reply(messages.help_reply(ctx.ref, ctx.deps.help_text, unknown))
    return "help"
