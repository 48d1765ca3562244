"""What every ``codex-bot`` subcommand shares: where its settings come from.

``env_file_option`` gives a command ``--env-file`` (also ``CODEX_ENV_FILE``);
``settings_file`` picks the file (``codex_common.settings.find_env_file``),
says on stderr which one it read, and exports it as ``CODEX_ENV_FILE`` so the
processes the command starts (uvicorn's workers, ``serve``'s children) read the
same one; ``settings_or_exit`` turns a ``ConfigError`` into one line naming the
setting and exit status 2, followed, when no settings file was found, by what
to copy and fill in. ``settings_help`` is the paragraph each command's
``--help`` ends with.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from codex_common.settings import ENV_FILE, ENV_FILE_VARIABLE, ConfigError, find_env_file

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])

# What each kind of command needs before it can start, in the words of ``.env.example``.
WEB_NEEDS: Final = ("WEBHOOK_SECRET",)
WORKER_NEEDS: Final = ("APP_ID", "PRIVATE_KEY_PATH (or PRIVATE_KEY)", "OPENAI_API_KEY")
SERVE_NEEDS: Final = (*WEB_NEEDS, *WORKER_NEEDS)


def settings_help(needs: Sequence[str], extra: str = "") -> str:
    """The closing paragraph of a command's ``--help``: the settings it needs and where from."""
    needed = ", ".join(needs) if needs else "no setting"
    return (
        f"Settings: needs {needed}{extra}. Read from the environment, then from "
        f"--env-file (or {ENV_FILE_VARIABLE}), else {ENV_FILE} in the current directory, "
        f"else {ENV_FILE} at the project root; the environment wins. See .env.example."
    )


def env_file_option(command: _F) -> _F:
    """``--env-file PATH``: read settings from this file instead of looking for ``.env``."""
    return click.option(
        "--env-file",
        "env_file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_FILE_VARIABLE,
        default=None,
        help=f"Settings file to read instead of looking for {ENV_FILE} "
        "(the current directory, then the project root).",
    )(command)


def settings_file(explicit: Path | None, prog: str = "codex-bot") -> Path | None:
    """The settings file this run reads, announced in one line on stderr; exit 2 if
    ``--env-file`` names no file."""
    try:
        found = find_env_file(explicit)
    except ConfigError as exc:
        click.echo(f"{prog}: {exc}", err=True)
        sys.exit(2)
    if found is None:
        click.echo(f"{prog}: no {ENV_FILE} found; settings from the environment only", err=True)
        os.environ.pop(ENV_FILE_VARIABLE, None)
    else:
        click.echo(f"{prog}: settings from {found}", err=True)
        os.environ[ENV_FILE_VARIABLE] = str(found)
    return found


def settings_or_exit(
    build: Callable[[], _T],
    env_file: Path | None,
    needs: Sequence[str],
    prog: str = "codex-bot",
) -> _T:
    """``build()``, or one line naming the setting on stderr and exit status 2 (plus, when
    a setting is missing and there is no settings file at all, a line saying to copy
    ``.env.example`` and what to fill in)."""
    try:
        return build()
    except ConfigError as exc:
        click.echo(f"{prog}: {exc}", err=True)
        if env_file is None and "is required" in str(exc):
            click.echo(missing_env_hint(needs, prog), err=True)
        sys.exit(2)


def missing_env_hint(needs: Sequence[str], prog: str = "codex-bot") -> str:
    return (
        f"{prog}: no {ENV_FILE} file was found: copy .env.example to {ENV_FILE} "
        f"and fill in {', '.join(needs)} (or pass --env-file)"
    )
