"""Commands from people without write access: one explanation per person, PR and hour.

Anyone can write ``/codex fix`` or ``/codex help`` on a public repository, and
each answer is a write (a reaction, a reply) that shares the installation's
write pacing with reviews. So a person without write access gets at most one
answer (the refusal, or the help text) per pull request per
``OUTSIDER_WINDOW_SECONDS``; further commands in that hour get no reaction and
no reply, only a log line. People with write access never pass through here.

The record is one Redis key per person and PR, set only if absent, with a
TTL: the first command in the window takes it, the others find it. When Redis
cannot answer, the command stays silent (a write saved beats an answer owed
to someone who may be flooding the PR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import redis

from codex_common.logs import get_logger

log = get_logger("workers.commands.outsiders")

#: How long one explanation covers a person on one PR.
OUTSIDER_WINDOW_SECONDS: Final = 3600
KEY_PREFIX: Final = "codex:outsider:"


class OutsiderGate(Protocol):
    """Whether a person without write access gets an answer now."""

    def admit(self, repository: str, pr_number: int, login: str) -> bool:
        """``True`` for the first command in the window (which is then answered)."""
        ...


def outsider_key(repository: str, pr_number: int, login: str, prefix: str = KEY_PREFIX) -> str:
    """The Redis key of one person on one PR (logins and repositories are case-insensitive)."""
    return f"{prefix}{repository.lower()}#{pr_number}:{login.lower()}"


@dataclass(frozen=True, slots=True)
class RedisOutsiderGate:
    """``OutsiderGate`` over a Redis key with a TTL (``SET NX EX``)."""

    redis: redis.Redis[bytes]
    window_seconds: int = OUTSIDER_WINDOW_SECONDS
    prefix: str = KEY_PREFIX

    def admit(self, repository: str, pr_number: int, login: str) -> bool:
        key = outsider_key(repository, pr_number, login, self.prefix)
        try:
            return bool(self.redis.set(key, b"1", nx=True, ex=self.window_seconds))
        except redis.RedisError as exc:
            log.warning(
                "outsider record unavailable, command left unanswered",
                repository=repository,
                pr_number=pr_number,
                error=str(exc),
            )
            return False
