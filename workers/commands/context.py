"""What every ``/codex`` command works with: its dependencies and its comment.

``CommandGitHub`` is the part of ``workers.github.GitHubClient`` the commands
use, on one repository with one installation token; the client's own value
objects (``IssueComment``, ``ReviewComment``, ``PullRequest``, ``PullFile``)
are the only types of those GitHub objects here. ``Context`` is one command in
flight: the job, its dependencies and the comment as re-read from GitHub, with
the reply and reaction every handler ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from codex_common.jobs import CommandJob, CommentKind, ReviewJob
from workers.commands.apply import Limits
from workers.commands.messages import CommentRef
from workers.commands.outsiders import OutsiderGate
from workers.commands.schema import FixProposal
from workers.errors import Transient
from workers.findings import Finding
from workers.github.links import link_host, pull_page
from workers.github.models import (
    AppIdentity,
    CommentReaction,
    DraftComment,
    IssueComment,
    PullFile,
    PullRequest,
    Review,
    ReviewComment,
    TreeEntry,
)
from workers.model.ledger import CallContext
from workers.sanitize import sanitize

CommandOutcome = Literal[
    "duplicate",
    "ignored",
    "help",
    "refused",
    "review_queued",
    "pushed",
    "suggested",
    "moved",
    "workflow",
    "special_file",
    "no_change",
    "failed",
    "silenced",
]
Reaction = Literal["eyes", "rocket", "confused"]
Comment = IssueComment | ReviewComment

#: Errors that may pass on their own: they propagate to the task, with no failure reply.
# The one transient/permanent decision (``workers.errors``): these go back to the task.
TRANSIENT: Final = (Transient,)
#: Bytes of model text a reply may quote.
MODEL_TEXT_BYTES: Final = 2_000
DEFAULT_LIMITS: Final = Limits()


class CommandGitHub(Protocol):
    """The ``GitHubClient`` methods the commands call."""

    def app_identity(self) -> AppIdentity: ...

    def get_issue_comment(self, comment_id: int) -> IssueComment: ...

    def get_review_comment(self, comment_id: int) -> ReviewComment: ...

    def get_pull(self, number: int) -> PullRequest: ...

    def list_pull_files(self, number: int) -> tuple[PullFile, ...]: ...

    def list_review_comments(self, number: int) -> tuple[ReviewComment, ...]: ...

    def list_issue_comments(self, number: int) -> tuple[IssueComment, ...]: ...

    def list_reactions(self, kind: CommentKind, comment_id: int) -> tuple[CommentReaction, ...]: ...

    def get_file(self, path: str, ref: str) -> bytes | None: ...

    def get_tree(self, tree_sha: str) -> tuple[TreeEntry, ...]: ...

    def get_permission(self, username: str) -> str: ...

    def get_branch_sha(self, branch: str) -> str: ...

    def create_issue_comment(self, number: int, body: str) -> IssueComment: ...

    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> ReviewComment: ...

    def add_reaction(self, kind: CommentKind, comment_id: int, content: str) -> None: ...

    def create_review(
        self, number: int, commit_id: str, body: str, comments: Sequence[DraftComment]
    ) -> Review: ...

    def commit_files(
        self,
        branch_parent_sha: str,
        changes: Mapping[str, bytes | None],
        message: str,
        modes: Mapping[str, str] | None = None,
    ) -> str: ...

    def update_branch(self, branch: str, sha: str) -> None: ...


class Structured(Protocol):
    """The model call: ``ModelClient.structured`` reduced to what a fix needs."""

    def propose(self, prompt: object, call: CallContext) -> FixProposal | str:
        """The model's proposal, or a reason it could not be had."""
        ...


@dataclass(frozen=True, slots=True)
class CommandDeps:
    """Everything ``handle_command`` touches. ``head_github`` opens the fork's repository.

    ``enqueue_review`` sends a review job to the review queue and says whether
    the broker took it; ``outsiders`` decides whether a person without write
    access is answered (``workers.commands.outsiders``).
    """

    github: CommandGitHub
    head_github: Callable[[str], CommandGitHub]
    model: Structured
    enqueue_review: Callable[[ReviewJob], bool]
    help_text: str
    findings_of: Callable[[str], Finding | None]
    outsiders: OutsiderGate
    # GITHUB_WEB_URL: where links point; None: the pages GitHub's API answers name.
    github_web_url: str | None = None
    limits: Limits = DEFAULT_LIMITS


def get_comment(github: CommandGitHub, kind: CommentKind, comment_id: int) -> Comment:
    """Read a comment through the API of its kind (``NotFound`` when it is gone)."""
    if kind == "issue_comment":
        return github.get_issue_comment(comment_id)
    return github.get_review_comment(comment_id)


def thread_id(comment: Comment) -> int:
    """The comment to reply to: GitHub takes replies to a review thread's first comment only."""
    if isinstance(comment, ReviewComment) and comment.in_reply_to_id is not None:
        return comment.in_reply_to_id
    return comment.id


def reply_in_thread(github: CommandGitHub, number: int, comment: Comment, body: str) -> None:
    """Post ``body`` where ``comment`` was written: its review thread or the PR conversation."""
    if isinstance(comment, ReviewComment):
        github.reply_to_review_comment(number, thread_id(comment), body)
    else:
        github.create_issue_comment(number, body)


def text_of(data: bytes | None) -> str | None:
    """A file's bytes as text; ``None`` when absent, binary or not UTF-8."""
    if data is None or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class Context:
    """One command in flight: its job, dependencies and the comment as GitHub has it now."""

    job: CommandJob
    deps: CommandDeps
    ref: CommentRef
    comment: Comment

    @property
    def github(self) -> CommandGitHub:
        return self.deps.github

    def app_login(self) -> str:
        return self.github.app_identity().bot_login.lower()

    def reply(self, body: str) -> None:
        reply_in_thread(self.github, self.job.pr_number, self.comment, body)

    def react(self, content: Reaction) -> None:
        self.github.add_reaction(self.job.comment_kind, self.job.comment_id, content)

    def finish(self, body: str, content: Reaction | None) -> None:
        """Reply, then react: the reaction tells the requester the command is over."""
        self.reply(body)
        if content is not None:
            self.react(content)

    def pull_page(self) -> str:
        """The PR's web page, from the comment's ``html_url`` (or ``GITHUB_WEB_URL``)."""
        return pull_page(
            self.comment.html_url,
            repository=self.job.repository,
            number=self.job.pr_number,
            web_url=self.deps.github_web_url,
        )

    def commit_url(self, sha: str) -> str:
        """Where a pushed commit shows in the PR (a fork's commit shows there too)."""
        return f"{self.pull_page()}/commits/{sha}"

    def clean(self, text: str) -> str:
        """Model text made safe to post: ``workers.sanitize`` plus a short length cap."""
        host = link_host(self.pull_page())
        return sanitize(text, allowed_host=host, max_bytes=MODEL_TEXT_BYTES).strip()
