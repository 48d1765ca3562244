"""The ``codex-bot`` command.

Subcommands are imported only when invoked, so ``codex-bot web`` never loads the
worker's git, diff or model code. Each lives in a module of this package that
defines a click command named after the subcommand
(dashes become underscores: ``review_diff``).
"""

from __future__ import annotations

import importlib

import click

_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("bot.cli.serve", "Run the receiver and a worker together on one machine."),
    "web": ("bot.cli.serve", "Run only the webhook receiver."),
    "worker": ("bot.cli.serve", "Run only a Celery worker."),
    "beat": ("bot.cli.serve", "Run only the scheduler of the redelivery sweep."),
    "review": ("workers.cli.review", "Review one pull request now: codex-bot review OWNER/REPO#N."),
    "review-diff": ("workers.cli.review_diff", "Review or plan a local diff: PATH or - for stdin."),
    "doctor": ("workers.cli.doctor", "Check configuration, key, broker, GitHub and the model."),
    "stats": ("workers.cli.stats", "Reviews, findings, applied suggestions and spend per month."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, cmd_name.replace("-", "_"))
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(_SUBCOMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="codex-review-bot")
def main() -> None:
    """codex-review-bot: reviews pull requests with GPT-5-Codex-Mini and fixes code on request."""
