"""Running git for the mirror: the environment, the token, and what a failure means.

The installation token reaches git through the environment only, as the value
of an ``http.extraHeader`` set with ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/
``GIT_CONFIG_VALUE_n`` (``Authorization: Basic`` of ``x-access-token:TOKEN``,
what GitHub documents for installation tokens over HTTPS). So the token is
never in an argument (``ps`` shows arguments, not another process's
environment), in a URL, in the repository's config file, or in a log: errors
carry git's stderr, which never holds the header.

Exceptions::

    MirrorError
     ├── GitMissing        no git executable on this machine
     ├── GitFailed         a git command failed (its stderr, without secrets)
     │    └── AuthRefused  the server refused the credentials (401/403)
     └── TooLarge          the mirror would exceed its size cap
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

# What git prints when the server refuses the credentials.
_AUTH_SIGNS: Final = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_STDERR_CHARS: Final = 2_000


class MirrorError(Exception):
    """The mirror cannot answer; the review reads through the API instead."""


class GitMissing(MirrorError):
    """No ``git`` executable."""


class GitFailed(MirrorError):
    """A git command exited with an error."""

    def __init__(self, args: Sequence[str], stderr: str) -> None:
        self.stderr = stderr.strip()[-_STDERR_CHARS:]
        super().__init__(f"git {args[0] if args else ''} failed: {self.stderr}")


class AuthRefused(GitFailed):
    """The server refused the token (expired, revoked, or not for this repository)."""


class TooLarge(MirrorError):
    """The repository does not fit under ``MIRROR_MAX_BYTES``."""


def auth_header(token: str) -> str:
    """The header GitHub takes an installation token in over git's HTTP transport."""
    pair = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {pair}"


def git_env(token: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every mirror git command runs in.

    No system or user configuration, no prompts, no credential helpers; with a
    ``token``, its header as the one configured ``http.extraHeader``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",  # answers any prompt with nothing: refused, not hung
            "LC_ALL": "C",
        }
    )
    settings: list[tuple[str, str]] = [("credential.helper", "")]
    if token is not None:
        settings.append(("http.extraHeader", auth_header(token)))
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    for index, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env.update(extra or {})
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    token: str | None = None,
    stdin: bytes | None = None,
    timeout: float = 120.0,
    ok_codes: tuple[int, ...] = (0,),
) -> bytes:
    """Run ``git args`` in ``cwd``; stdout, or ``GitFailed``/``AuthRefused``/``GitMissing``."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=git_env(token),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GitMissing("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitFailed(args, f"timed out after {timeout:.0f} s") from None
    if result.returncode not in ok_codes:
        stderr = result.stderr.decode("utf-8", "replace")
        if token is not None:
            stderr = stderr.replace(token, "***")
        if any(sign in stderr.lower() for sign in _AUTH_SIGNS):
            raise AuthRefused(args, stderr)
        raise GitFailed(args, stderr)
    return result.stdout
