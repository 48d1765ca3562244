"""Run one ``/codex`` command: ``handle_command(job, deps)``.

The task runs each job once per comment (``workers.guard.JobGuard`` on the
job's key). The job carries ids only; everything is read from GitHub, in
this order:

1. Re-read the comment; ignore it when it is gone, was written by a bot or by
   this App, or no longer holds the command the job was made for (edited).
2. Look for the App's answer to it on GitHub (``already_answered``): its
   rocket or confused reaction on the comment, or a reply carrying the
   comment's marker in the PR conversation or a review thread, for both
   comment kinds. A comment replayed after its job's record expired is never
   acted on again.
3. Who wrote it: write, maintain or admin on the repository
   (``author_association`` may refuse at once, the permission endpoint
   decides). Anyone else gets at most one answer per PR per hour, ``help``
   included (``workers.commands.outsiders``); past that, silence and a log line.
4. Eyes reaction. ``help`` (and unknown subcommands) get the help text; an
   outsider's ``fix`` or ``review`` gets the refusal.
5. ``review`` queues a review job that answers when done
   (``workers.commands.review``); ``fix`` runs ``workers.commands.fix``.
6. A reply in the same thread and a rocket or confused reaction.

Errors: ``GitHubError`` subclasses from the client. Transient ones
(``RateLimited``, ``ServerError``, ``TransportError``) propagate to the task;
``BranchMoved`` becomes the "PR changed" reply inside the fix; anything else
GitHub refuses becomes a failure reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from codex_common.jobs import CommandJob
from codex_common.logs import get_logger
from codex_common.slash import parse_command
from workers.commands import messages, policy
from workers.commands.access import has_write_access
from workers.commands.context import (
    TRANSIENT,
    CommandDeps,
    CommandGitHub,
    CommandOutcome,
    Comment,
    Context,
    get_comment,
    reply_in_thread,
)
from workers.commands.fix import run_fix
from workers.commands.help import answer_help
from workers.commands.messages import CommentRef
from workers.commands.review import request_review
from workers.github.errors import GitHubError, NotFound

log = get_logger("workers.commands")

#: The reactions that end a command (``Context.finish``); eyes only starts one.
FINAL_REACTIONS: Final = frozenset({"rocket", "confused"})


def handle_command(job: CommandJob, deps: CommandDeps) -> CommandOutcome:
    """Run ``job``'s command; the outcome names what happened (for logs and tests)."""
    github = deps.github
    ref = CommentRef(kind=job.comment_kind, comment_id=job.comment_id)
    try:
        comment = get_comment(github, job.comment_kind, job.comment_id)
    except NotFound:
        return "ignored"
    app_login = github.app_identity().bot_login
    if policy.is_automated(comment.author_login, comment.author_type, app_login):
        return "ignored"
    command = parse_command(comment.body)
    if (
        command is None
        or command.name != job.command
        or comment.author_login.lower() != job.sender_login.lower()
    ):
        return "ignored"
    if already_answered(github, job, ref, app_login):
        log.info("command already answered", command=ref.token)
        return "duplicate"

    ctx = Context(job=job, deps=deps, ref=ref, comment=comment)
    if not _authorised(github, comment):
        if not deps.outsiders.admit(job.repository, job.pr_number, comment.author_login):
            log.info(
                "outsider command left unanswered: already answered them on this PR this hour",
                command=ref.token,
                login=comment.author_login,
                repository=job.repository,
                pr_number=job.pr_number,
            )
            return "silenced"
        ctx.react("eyes")
        if command.name == "help":
            return answer_help(ctx, command.unknown)
        ctx.finish(messages.not_allowed(ref, command.name), "confused")
        return "refused"
    ctx.react("eyes")
    if command.name == "help":
        return answer_help(ctx, command.unknown)
    try:
        if command.name == "review":
            return request_review(ctx)
        return run_fix(ctx, command.argument)
    except TRANSIENT:
        raise
    except GitHubError as exc:
        log.warning("command failed", command=ref.token, error=str(exc))
        ctx.finish(messages.failed(ref), "confused")
        return "failed"


def answer_gave_up(github: CommandGitHub, job: CommandJob, cause: str) -> None:
    """Tell the comment behind ``job`` that its command gave up, and why (``cause``, one
    plain sentence); nothing when the comment is gone or the App already answered it."""
    ref = CommentRef(kind=job.comment_kind, comment_id=job.comment_id)
    try:
        comment = get_comment(github, ref.kind, ref.comment_id)
    except NotFound:
        return
    if already_answered(github, job, ref, github.app_identity().bot_login):
        return
    reply_in_thread(github, job.pr_number, comment, messages.failed(ref, cause))
    github.add_reaction(ref.kind, ref.comment_id, "confused")


def already_answered(github: CommandGitHub, job: CommandJob, ref: CommentRef, app: str) -> bool:
    """Whether the App already answered the command's comment, as GitHub shows it.

    Either evidence counts, for both comment kinds: the App's final reaction
    (``FINAL_REACTIONS``; eyes alone means a run that did not finish) on the
    comment, or one of the App's comments carrying ``ref``'s marker, in the
    comment's own place first (its review threads, or the PR conversation),
    then in the other.
    """
    login = app.lower()
    reactions = github.list_reactions(ref.kind, ref.comment_id)
    if any(r.author_login.lower() == login and r.content in FINAL_REACTIONS for r in reactions):
        return True
    listers: tuple[Callable[[int], Sequence[Comment]], ...] = (
        github.list_issue_comments,
        github.list_review_comments,
    )
    if ref.kind == "review_comment":
        listers = listers[::-1]
    return any(
        c.author_login.lower() == login and messages.answered(c.body, ref)
        for lister in listers
        for c in lister(job.pr_number)
    )


def _authorised(github: CommandGitHub, comment: Comment) -> bool:
    return has_write_access(github, comment.author_login, comment.author_association)
