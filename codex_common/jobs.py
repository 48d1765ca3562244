"""Job records: what the web process queues and the workers run.

A job carries primitive ids, never a token, a payload or a settings value. The
worker fetches everything else itself with its own installation token. Records
are frozen, serialise to plain JSON dicts (Celery runs JSON only) and are
rebuilt with ``from_dict``, which rejects anything malformed with ``JobError``.

Task names and queues live here too, so ``bot/`` can send by name without
importing any worker code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Self

REVIEW_TASK = "codex.review"
COMMAND_TASK = "codex.command"
REVIEW_QUEUE = "reviews"
COMMAND_QUEUE = "commands"
# The periodic sweep that asks GitHub to redeliver failed deliveries (``workers.redelivery``).
REDELIVERY_TASK = "codex.redeliver"
# Where the receiver records each accepted ``X-GitHub-Delivery``; the sweep reads it.
DELIVERY_KEY_PREFIX = "codex:delivery:"

ReviewTrigger = Literal["opened", "reopened", "ready_for_review", "synchronize", "command"]
CommandName = Literal["review", "fix", "help"]
CommentKind = Literal["issue_comment", "review_comment"]

_TRIGGERS: frozenset[str] = frozenset(
    {"opened", "reopened", "ready_for_review", "synchronize", "command"}
)
_COMMANDS: frozenset[str] = frozenset({"review", "fix", "help"})
_KINDS: frozenset[str] = frozenset({"issue_comment", "review_comment"})


class JobError(ValueError):
    """A job record that does not have the expected fields or types."""


def _field(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    # bool is an int subclass; an id must never be True.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise JobError(f"job field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def _optional(data: Mapping[str, Any], name: str, kind: type) -> Any:
    if data.get(name) is None:
        return None
    return _field(data, name, kind)


def _choice(data: Mapping[str, Any], name: str, allowed: frozenset[str]) -> Any:
    value = _field(data, name, str)
    if value not in allowed:
        raise JobError(f"job field {name!r} must be one of {sorted(allowed)}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ReviewJob:
    """Review one pull request at one head SHA.

    ``key`` identifies the work, not the delivery: two deliveries for the same
    head (opened racing synchronize, a redelivery) share it, so the worker can
    post at most one review per (repository, PR, head SHA).

    ``reply_comment_id`` and ``reply_comment_kind`` are set together, only for a
    review asked for with ``/codex review``: the comment to answer when the review
    is done. Such a job's key names the comment too, so a requested review of a
    head that was already reviewed still runs (the review's own marker keeps it
    from posting the same review twice). Messages from before these fields
    existed decode with both ``None``.
    """

    delivery_id: str
    installation_id: int
    repository: str
    pr_number: int
    head_sha: str
    trigger: ReviewTrigger
    comment_id: int | None = None
    reply_comment_id: int | None = None
    reply_comment_kind: CommentKind | None = None

    @property
    def key(self) -> str:
        base = f"review:{self.repository}#{self.pr_number}@{self.head_sha}"
        if self.reply_comment_id is None:
            return base
        return f"{base}:{self.reply_comment_kind}:{self.reply_comment_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        reply_id = _optional(data, "reply_comment_id", int)
        reply_kind = (
            _choice(data, "reply_comment_kind", _KINDS)
            if data.get("reply_comment_kind") is not None
            else None
        )
        if (reply_id is None) != (reply_kind is None):
            raise JobError("job fields 'reply_comment_id' and 'reply_comment_kind' go together")
        return cls(
            delivery_id=_field(data, "delivery_id", str),
            installation_id=_field(data, "installation_id", int),
            repository=_field(data, "repository", str),
            pr_number=_field(data, "pr_number", int),
            head_sha=_field(data, "head_sha", str),
            trigger=_choice(data, "trigger", _TRIGGERS),
            comment_id=_optional(data, "comment_id", int),
            reply_comment_id=reply_id,
            reply_comment_kind=reply_kind,
        )


@dataclass(frozen=True, slots=True)
class CommandJob:
    """Run one ``/codex`` command written in one comment.

    ``key`` is per comment: a redelivered or re-queued command runs once.
    ``head_sha`` is known only for review-thread comments (their payload names
    the commit); for conversation comments the worker reads the PR.
    """

    delivery_id: str
    installation_id: int
    repository: str
    pr_number: int
    comment_id: int
    comment_kind: CommentKind
    command: CommandName
    sender_login: str
    sender_id: int
    head_sha: str | None = None

    @property
    def key(self) -> str:
        return f"command:{self.repository}#{self.pr_number}:{self.comment_kind}:{self.comment_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            delivery_id=_field(data, "delivery_id", str),
            installation_id=_field(data, "installation_id", int),
            repository=_field(data, "repository", str),
            pr_number=_field(data, "pr_number", int),
            comment_id=_field(data, "comment_id", int),
            comment_kind=_choice(data, "comment_kind", _KINDS),
            command=_choice(data, "command", _COMMANDS),
            sender_login=_field(data, "sender_login", str),
            sender_id=_field(data, "sender_id", int),
            head_sha=_optional(data, "head_sha", str),
        )
