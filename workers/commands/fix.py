"""``/codex fix``: one commit on the PR branch, or suggestions when it cannot be pushed.

The steps, in order:

1. Pin the head: the SHA the review-thread comment was written on, else the
   PR's head now. A closed PR, a head that moved since, or a deleted fork ends
   the command with a reply.
2. Choose the target (``workers.commands.target``): the thread's file and
   finding, the open P0/P1 findings, or what the requester's text asks for.
3. Read the target files' git modes at the pinned head; symlinks and
   submodules are left out, and a target with nothing else in it is refused.
4. Read the files at the pinned head, ask the model (no tools), apply and
   verify its edits (``workers.commands.apply``).
5. A fork that does not allow maintainer edits gets suggestions
   (``workers.commands.suggest``); otherwise a commit parented on the pinned
   SHA, with each file's mode kept, and a ``force: false`` branch update. A
   fork this installation cannot write to gets suggestions too; a branch that
   moved meanwhile gets the "PR changed" reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from codex_common.logs import get_logger
from workers.commands import messages
from workers.commands.apply import Applied, Rejected, apply_proposal
from workers.commands.context import CommandOutcome, Context, text_of
from workers.commands.modes import REGULAR, file_modes, special_kind
from workers.commands.prompt import PullText, render
from workers.commands.suggest import suggest
from workers.commands.target import FixTarget, named_paths, open_findings
from workers.findings import Finding
from workers.github.errors import BranchMoved, NotFound, PermissionDenied, Unprocessable
from workers.github.models import PullFile, PullRequest, ReviewComment
from workers.model.ledger import CallContext

log = get_logger("workers.commands.fix")


def run_fix(ctx: Context, argument: str) -> CommandOutcome:
    """Fix what ``argument`` (or the thread, or the open findings) asks, at the pinned head."""
    job, ref, github = ctx.job, ctx.ref, ctx.github
    pull = github.get_pull(job.pr_number)
    pinned = job.head_sha or pull.head_sha
    if pull.state != "open":
        ctx.finish(messages.nothing_to_fix(ref, "this pull request is closed."), "confused")
        return "no_change"
    if pull.head_sha != pinned:
        ctx.finish(messages.head_moved(ref, pinned, pull.head_sha), "confused")
        return "moved"
    if pull.is_fork and pull.head_repo is None:
        ctx.finish(messages.nothing_to_fix(ref, "the fork of this PR was deleted."), "confused")
        return "no_change"

    changed = github.list_pull_files(job.pr_number)
    target = _target(ctx, argument, changed, pinned)
    if target is None:
        ctx.finish(
            messages.nothing_to_fix(ref, "there are no open P0 or P1 findings to fix."),
            "confused",
        )
        return "no_change"

    modes = file_modes(github.get_tree, pinned, target.paths)
    special = tuple(
        (path, kind) for path in target.paths if (kind := special_kind(modes[path])) is not None
    )
    if special:
        editable = tuple(path for path in target.paths if special_kind(modes[path]) is None)
        if not editable:
            ctx.finish(messages.special_refused(ref, special), "confused")
            return "special_file"
        target = replace(target, paths=editable)

    files = {path: text_of(github.get_file(path, pinned)) for path in target.paths}
    prompt = render(
        target,
        PullText(job.repository, job.pr_number, pull.title, pull.body, pinned),
        {path: text for path, text in files.items() if text is not None},
    )
    call = CallContext(
        installation_id=job.installation_id,
        repository=job.repository,
        pr_number=job.pr_number,
        head_sha=pinned,
        delivery_id=job.delivery_id,
    )
    proposal = ctx.deps.model.propose(prompt, call)
    if isinstance(proposal, str):
        log.warning("fix model call failed", command=ref.token, error=proposal)
        ctx.finish(messages.failed(ref), "confused")
        return "failed"
    if proposal.refusal or not proposal.edits:
        reason = ctx.clean(proposal.refusal or "the model proposed no change.")
        ctx.finish(messages.nothing_to_fix(ref, reason), "confused")
        return "no_change"

    result = apply_proposal(proposal, files, frozenset(target.paths), ctx.deps.limits)
    if isinstance(result, Rejected):
        if result.workflow_paths:
            ctx.finish(messages.workflow_refused(ref, result.workflow_paths), "confused")
            return "workflow"
        problems = tuple(ctx.clean(problem) for problem in result.problems)
        ctx.finish(messages.could_not_apply(ref, problems), "confused")
        return "no_change"

    summary = ctx.clean(proposal.summary)
    if pull.is_fork and not pull.maintainer_can_modify:
        return suggest(ctx, pull, proposal, files, changed, summary)
    modes_of_changes = {c.path: modes[c.path] or REGULAR for c in result.changes}
    outcome = _push(ctx, pull, pinned, result, modes_of_changes, argument, summary)
    if outcome is None:
        return suggest(ctx, pull, proposal, files, changed, summary)
    return outcome


def _target(
    ctx: Context, argument: str, changed: Sequence[PullFile], pinned: str
) -> FixTarget | None:
    github, job = ctx.github, ctx.job
    comment = ctx.comment
    if isinstance(comment, ReviewComment):
        root: ReviewComment | None = None
        if comment.in_reply_to_id is not None:
            try:
                root = github.get_review_comment(comment.in_reply_to_id)
            except NotFound:
                root = None
        anchor = root or comment
        mine = anchor.author_login.lower() == ctx.app_login()
        finding = ctx.deps.findings_of(anchor.body) if mine else None
        return FixTarget.for_thread(comment, root, finding, argument)

    pr_files = [file.filename for file in changed]
    if not argument.strip():
        app = ctx.app_login()
        comments = github.list_review_comments(job.pr_number)
        found: dict[int, Finding] = {}
        for thread_comment in comments:
            if thread_comment.author_login.lower() == app and thread_comment.in_reply_to_id is None:
                finding = ctx.deps.findings_of(thread_comment.body)
                if finding is not None:
                    found[thread_comment.id] = finding
        return FixTarget.for_conversation("", pr_files, open_findings(comments, found))
    named = [
        path
        for path in named_paths(argument, pr_files)
        if github.get_file(path, pinned) is not None
    ]
    return FixTarget.for_conversation(argument, pr_files, (), named_existing=named)


def _push(
    ctx: Context,
    pull: PullRequest,
    pinned: str,
    applied: Applied,
    modes: dict[str, str],
    argument: str,
    summary: str,
) -> CommandOutcome | None:
    """Commit on ``pinned`` and fast-forward the PR branch (``force: false``).

    ``None`` when the PR's fork is out of this installation's reach (GitHub
    answers 403, 404 or 422 there, even when maintainer edits are allowed):
    the caller suggests the fix instead.
    """
    job, ref = ctx.job, ctx.ref
    target_repo = pull.head_repo or job.repository
    fork = target_repo != job.repository
    head = ctx.deps.head_github(target_repo) if fork else ctx.github
    message = messages.commit_message(
        ref,
        request=argument.strip() or "address the review findings",
        summary=summary,
        comment_url=ctx.comment.html_url,
        requester_login=ctx.comment.author_login,
        requester_id=job.sender_id,
    )
    contents: dict[str, bytes | None] = {c.path: c.after.encode("utf-8") for c in applied.changes}
    try:
        sha = head.commit_files(pinned, contents, message, modes)
    except (NotFound, PermissionDenied, Unprocessable) as exc:
        if not fork:
            raise
        log.info("fork not writable, suggesting", command=ref.token, error=str(exc))
        return None
    try:
        head.update_branch(pull.head_ref, sha)
    except BranchMoved:
        ctx.finish(messages.head_moved(ref, pinned, head.get_branch_sha(pull.head_ref)), "confused")
        return "moved"
    body = messages.fixed(
        ref, commit_url=ctx.commit_url(sha), commit_sha=sha, summary=summary, files=applied.paths
    )
    ctx.finish(body, "rocket")
    return "pushed"
