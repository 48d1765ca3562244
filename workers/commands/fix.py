"""``/codex fix``: one commit on the PR branch, or suggestions when it cannot be pushed.

The steps, in order:

1. Pin the head: the SHA the review-thread comment was written on, else the
   PR's head now. A closed PR, a head that moved since, or a deleted fork ends
   the command with a reply.
2. Choose the target (``workers.commands.target``): the thread's file and
   finding, the open P0/P1 findings, or the PR's files ranked by what the
   requester's text names and points at.
3. Read the candidates' tree entries at the pinned head (mode, size) and
   choose the files to show (``workers.commands.selection``): named files
   first and whole, then by relevance and size within a budget. When no file
   the request named can be shown, the reply says why and the model is not
   asked.
4. Read only the shown files at the pinned head, ask the model (no tools),
   apply and verify its edits to shown files only (``workers.commands.apply``).
   Every reply names the named files that could not be shown, and why.
5. A fork that does not allow maintainer edits gets suggestions
   (``workers.commands.suggest``); otherwise a commit parented on the pinned
   SHA, with each file's mode kept, and a ``force: false`` branch update. A
   fork this installation cannot write to gets suggestions too; a branch that
   moved meanwhile gets the "PR changed" reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from codex_common.logs import get_logger
from workers.commands import messages
from workers.commands.apply import Applied, Rejected, apply_proposal
from workers.commands.context import CommandOutcome, Context, text_of
from workers.commands.modes import REGULAR, tree_entries
from workers.commands.prompt import PullText, render
from workers.commands.relevance import shown_path
from workers.commands.schema import FixProposal
from workers.commands.selection import Selection, describe, likely_binary, select_files
from workers.commands.suggest import suggest
from workers.commands.target import FixTarget, open_findings
from workers.findings import Finding
from workers.github.errors import BranchMoved, NotFound, PermissionDenied, Unprocessable
from workers.github.models import PullFile, PullRequest, ReviewComment, TreeEntry
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
    target = _target(ctx, argument, changed)
    if target is None:
        ctx.finish(
            messages.nothing_to_fix(ref, "there are no open P0 or P1 findings to fix."),
            "confused",
        )
        return "no_change"

    entries = tree_entries(github.get_tree, pinned, (*target.paths, *target.elsewhere))
    target = target.with_found(path for path in target.elsewhere if _is_file(entries.get(path)))
    selection = select_files(target, entries, likely_binary(changed))
    read = {path: text_of(github.get_file(path, pinned)) for path in selection.shown}
    selection = selection.found_binary(path for path, text in read.items() if text is None)
    files = {path: text for path, text in read.items() if text is not None}
    named_out = selection.left_out_of((*target.named, *target.elsewhere))
    reasons = tuple((shown_path(item.path), describe(item, selection.caps)) for item in named_out)
    note = messages.not_looked_at(reasons)
    log.info(
        "fix files chosen",
        command=ref.token,
        shown=len(selection.shown),
        left_out=len(selection.left_out),
        named_left_out=[item.reason for item in named_out],
    )
    stop = _nothing_to_show(ctx, target, selection, reasons)
    if stop is not None:
        return stop

    prompt = render(
        target,
        PullText(job.repository, job.pr_number, pull.title, pull.body, pinned, pull.head_ref),
        selection,
        files,
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
        ctx.finish(messages.nothing_to_fix(ref, reason, note), "confused")
        return "no_change"

    proposal = _real_paths(proposal, selection.shown)
    result = apply_proposal(proposal, files, frozenset(selection.editable), ctx.deps.limits)
    if isinstance(result, Rejected):
        if result.workflow_paths:
            ctx.finish(messages.workflow_refused(ref, result.workflow_paths), "confused")
            return "workflow"
        problems = tuple(ctx.clean(problem) for problem in result.problems)
        ctx.finish(messages.could_not_apply(ref, problems, note), "confused")
        return "no_change"

    summary = ctx.clean(proposal.summary)
    if pull.is_fork and not pull.maintainer_can_modify:
        return suggest(ctx, pull, proposal, files, changed, summary, note)
    modes = {c.path: _mode(entries.get(c.path)) for c in result.changes}
    outcome = _push(ctx, pull, pinned, result, modes, argument, summary, note)
    if outcome is None:
        return suggest(ctx, pull, proposal, files, changed, summary, note)
    return outcome


def _is_file(entry: TreeEntry | None) -> bool:
    return entry is not None and entry.type != "tree"


def _mode(entry: TreeEntry | None) -> str:
    return entry.mode if entry is not None else REGULAR


def _nothing_to_show(
    ctx: Context,
    target: FixTarget,
    selection: Selection,
    reasons: tuple[tuple[str, str], ...],
) -> CommandOutcome | None:
    """End the command when no named file (or no file at all) can be shown; else ``None``."""
    if selection.shown and not (
        target.named and not any(path in selection.shown for path in target.named)
    ):
        return None
    special = tuple(
        (shown_path(item.path), f"a {item.reason}")
        for item in selection.left_out_of(target.named)
        if item.reason in ("symlink", "submodule")
    )
    if special and len(special) == len(target.named):
        ctx.finish(messages.special_refused(ctx.ref, special), "confused")
        return "special_file"
    if reasons:
        ctx.finish(messages.named_unshowable(ctx.ref, reasons), "confused")
    else:
        ctx.finish(
            messages.nothing_to_fix(ctx.ref, "none of this PR's files can be shown to the model."),
            "confused",
        )
    return "no_change"


def _real_paths(proposal: FixProposal, shown: Sequence[str]) -> FixProposal:
    """The proposal with escaped file names (as the prompt shows them) mapped back."""
    real: Mapping[str, str] = {shown_path(path): path for path in shown}
    edits = tuple(replace(edit, path=real.get(edit.path, edit.path)) for edit in proposal.edits)
    return replace(proposal, edits=edits)


def _target(ctx: Context, argument: str, changed: Sequence[PullFile]) -> FixTarget | None:
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
    patches = {file.filename: file.patch for file in changed}
    return FixTarget.for_conversation(argument, pr_files, (), patches)


def _push(
    ctx: Context,
    pull: PullRequest,
    pinned: str,
    applied: Applied,
    modes: dict[str, str],
    argument: str,
    summary: str,
    note: str = "",
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
        ref,
        commit_url=ctx.commit_url(sha),
        commit_sha=sha,
        summary=summary,
        files=tuple(shown_path(path) for path in applied.paths),
        note=note,
    )
    ctx.finish(body, "rocket")
    return "pushed"
