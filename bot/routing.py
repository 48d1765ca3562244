"""Event and action -> ``Route``: a job to enqueue, a ping, a logged or an ignored delivery.

Pure. Payload fields that routing relies on are validated with pydantic (the
trust boundary); everything else in the payload is ignored. A payload that
lacks a field its event must have raises ``BadDelivery``.

Rules:

* ``pull_request`` opened, reopened, ready_for_review, synchronize -> review job
  (draft pull requests wait for ``ready_for_review``);
* ``issue_comment`` created on a pull request and ``pull_request_review_comment``
  created, whose body holds a ``/codex`` line -> command job;
* comments from bots, and from this App, never make jobs;
* ``installation*`` events are logged; ``ping`` is answered; the rest is ignored
  with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.errors import BadDelivery
from bot.events import WebhookEvent
from codex_common.jobs import (
    COMMAND_QUEUE,
    COMMAND_TASK,
    REVIEW_QUEUE,
    REVIEW_TASK,
    CommandJob,
    CommentKind,
    ReviewJob,
)
from codex_common.slash import parse_command

REVIEW_ACTIONS = frozenset({"opened", "reopened", "ready_for_review", "synchronize"})
LOGGED_EVENTS = frozenset({"installation", "installation_repositories", "installation_target"})

RouteKind = Literal["job", "ping", "logged", "ignored"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who "this App" is, to recognise its own comments. Both parts are optional."""

    app_id: int | None = None
    app_slug: str | None = None

    def is_self(self, sender_login: str, via_app_id: int | None) -> bool:
        if self.app_id is not None and via_app_id == self.app_id:
            return True
        return self.app_slug is not None and sender_login == f"{self.app_slug}[bot]"


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    reason: str
    job: ReviewJob | CommandJob | None = None

    @property
    def task(self) -> str:
        return REVIEW_TASK if isinstance(self.job, ReviewJob) else COMMAND_TASK

    @property
    def queue(self) -> str:
        return REVIEW_QUEUE if isinstance(self.job, ReviewJob) else COMMAND_QUEUE

    @classmethod
    def ignored(cls, reason: str) -> Self:
        return cls(kind="ignored", reason=reason)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Id(_Model):
    id: int


class _Repository(_Model):
    full_name: str


class _User(_Model):
    login: str
    id: int
    type: str = "User"


class _Ref(_Model):
    sha: str


class _PullRequest(_Model):
    number: int
    draft: bool = False
    state: str = "open"
    head: _Ref


class _PullRequestEvent(_Model):
    action: str
    installation: _Id
    repository: _Repository
    pull_request: _PullRequest


class _Comment(_Model):
    id: int
    body: str | None = None
    user: _User
    performed_via_github_app: _Id | None = None


class _Issue(_Model):
    number: int
    pull_request: dict[str, object] | None = None


class _IssueCommentEvent(_Model):
    action: str
    installation: _Id
    repository: _Repository
    issue: _Issue
    comment: _Comment
    sender: _User


class _ReviewCommentEvent(_Model):
    action: str
    installation: _Id
    repository: _Repository
    pull_request: _PullRequest
    comment: _Comment
    sender: _User


_M = TypeVar("_M", bound=_Model)


def _parse(model: type[_M], event: WebhookEvent) -> _M:
    try:
        return model.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadDelivery(f"{event.name} payload: {where}: {first['msg']}") from None


def route(event: WebhookEvent, identity: Identity = Identity()) -> Route:
    """Decide what one genuine delivery asks for."""
    if event.name == "ping":
        return Route(kind="ping", reason="pong")
    if event.name in LOGGED_EVENTS:
        return Route(kind="logged", reason=f"{event.name} {event.action or ''}".strip())
    if event.name == "pull_request":
        return _pull_request(event)
    if event.name == "issue_comment":
        return _issue_comment(event, identity)
    if event.name == "pull_request_review_comment":
        return _review_comment(event, identity)
    return Route.ignored(f"event {event.name!r} is not handled")


def _pull_request(event: WebhookEvent) -> Route:
    if event.action not in REVIEW_ACTIONS:
        return Route.ignored(f"pull_request action {event.action!r} is not reviewed")
    data = _parse(_PullRequestEvent, event)
    pr = data.pull_request
    if pr.draft:
        return Route.ignored("draft pull request; reviewed when marked ready")
    if pr.state != "open":
        return Route.ignored(f"pull request is {pr.state}")
    job = ReviewJob(
        delivery_id=event.delivery_id,
        installation_id=data.installation.id,
        repository=data.repository.full_name,
        pr_number=pr.number,
        head_sha=pr.head.sha,
        trigger=event.action,  # type: ignore[arg-type]  # checked against REVIEW_ACTIONS
    )
    return Route(kind="job", reason=f"review on {event.action}", job=job)


def _comment_skip(comment: _Comment, sender: _User, identity: Identity) -> str | None:
    if sender.type == "Bot" or comment.user.type == "Bot":
        return "comment written by a bot"
    via = comment.performed_via_github_app.id if comment.performed_via_github_app else None
    if identity.is_self(sender.login, via) or identity.is_self(comment.user.login, via):
        return "comment written by this App"
    return None


def _issue_comment(event: WebhookEvent, identity: Identity) -> Route:
    if event.action != "created":
        return Route.ignored(f"issue_comment action {event.action!r} is not handled")
    data = _parse(_IssueCommentEvent, event)
    if data.issue.pull_request is None:
        return Route.ignored("comment on an issue, not a pull request")
    return _command_route(event, identity, data, data.issue.number, "issue_comment", None)


def _review_comment(event: WebhookEvent, identity: Identity) -> Route:
    if event.action != "created":
        return Route.ignored(f"pull_request_review_comment action {event.action!r} is not handled")
    data = _parse(_ReviewCommentEvent, event)
    pull = data.pull_request
    return _command_route(event, identity, data, pull.number, "review_comment", pull.head.sha)


def _command_route(
    event: WebhookEvent,
    identity: Identity,
    data: _IssueCommentEvent | _ReviewCommentEvent,
    pr_number: int,
    kind: CommentKind,
    head_sha: str | None,
) -> Route:
    """A command job for a created comment on a pull request, or why there is none."""
    skip = _comment_skip(data.comment, data.sender, identity)
    if skip:
        return Route.ignored(skip)
    command = parse_command(data.comment.body or "")
    if command is None:
        return Route.ignored("comment holds no /codex command")
    job = CommandJob(
        delivery_id=event.delivery_id,
        installation_id=data.installation.id,
        repository=data.repository.full_name,
        pr_number=pr_number,
        comment_id=data.comment.id,
        comment_kind=kind,
        command=command.name,
        sender_login=data.sender.login,
        sender_id=data.sender.id,
        head_sha=head_sha,
    )
    return Route(kind="job", reason=f"/codex {command.name}", job=job)
