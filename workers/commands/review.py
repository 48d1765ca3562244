"""``/codex review``: queue a review of the current head, answer when it is done.

The command task does not run the review. ``request_review`` sends a
``ReviewJob`` (trigger ``command``) naming the comment to answer; the review
task runs the review like any other and then calls ``answer_review``, which
replies in the command's thread with one sentence on what the review did and
reacts rocket, or confused when the review failed.
"""

from __future__ import annotations

from typing import Protocol

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.commands import messages
from workers.commands.context import (
    CommandGitHub,
    CommandOutcome,
    Context,
    get_comment,
    reply_in_thread,
)
from workers.commands.messages import CommentRef
from workers.github.errors import NotFound

log = get_logger("workers.commands.review")


class ReviewResult(Protocol):
    """What the reply needs from a review run's outcome."""

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def head_sha(self) -> str: ...

    @property
    def inline(self) -> int: ...

    @property
    def in_body(self) -> int: ...


def request_review(ctx: Context) -> CommandOutcome:
    """Queue a review of the PR's current head that answers this comment when done."""
    job = ctx.job
    pull = ctx.github.get_pull(job.pr_number)
    review = ReviewJob(
        delivery_id=job.delivery_id,
        installation_id=job.installation_id,
        repository=job.repository,
        pr_number=job.pr_number,
        head_sha=pull.head_sha,
        trigger="command",
        comment_id=job.comment_id,
        reply_comment_id=job.comment_id,
        reply_comment_kind=job.comment_kind,
    )
    if not ctx.deps.enqueue_review(review):
        ctx.finish(messages.failed(ctx.ref), "confused")
        return "failed"
    return "review_queued"


def review_reply_text(result: ReviewResult) -> str:
    """One sentence for the ``/codex review`` reply, from what the review run did."""
    short = result.head_sha[:7]
    found = result.inline + result.in_body
    if result.status == "posted" and found:
        return f"Reviewed `{short}`: {found} new finding(s) in the review above."
    if result.status in ("posted", "quiet", "duplicate"):
        return f"Reviewed `{short}`: nothing new to report."
    return f"No review posted for `{short}`: {result.reason}"


def answer_review(
    github: CommandGitHub, job: ReviewJob, result: ReviewResult | None, cause: str | None = None
) -> None:
    """Answer the comment that asked for ``job``: the summary and rocket, or (no
    ``result``: the review failed, for ``cause``) the failure reply and confused.

    Does nothing for a job nobody asked for with a comment, or when the
    comment is gone.
    """
    if job.reply_comment_id is None or job.reply_comment_kind is None:
        return
    ref = CommentRef(kind=job.reply_comment_kind, comment_id=job.reply_comment_id)
    try:
        comment = get_comment(github, ref.kind, ref.comment_id)
    except NotFound:
        log.info("review command comment gone, no reply", command=ref.token)
        return
    if result is None:
        body, reaction = messages.failed(ref, cause), "confused"
    else:
        body, reaction = messages.review_done(ref, review_reply_text(result)), "rocket"
    reply_in_thread(github, job.pr_number, comment, body)
    github.add_reaction(ref.kind, ref.comment_id, reaction)
