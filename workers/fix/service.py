"""Run one ``/codex`` command: the only module of ``workers.fix`` that does I/O.

``handle_command(job, deps)`` reads everything it acts on from GitHub itself
(the job carries ids only), in this order:

1. Claim the comment in the command ledger: a redelivered or re-queued
   command finds the claim and does nothing (the per-comment idempotency
   marker, independent of the task guard).
2. Re-read the comment; ignore it when it is gone, was written by a bot or by
   this App, or no longer holds the command the job was made for (edited).
3. Eyes reaction. ``help`` (and unknown subcommands) get the help text.
4. ``fix`` and ``review`` need write, maintain or admin on the repository:
   ``author_association`` may refuse at once, the permission endpoint decides.
5. ``review``: the review pipeline runs for the current head.
   ``fix``: the head SHA is pinned, the target chosen, the head files read at
   that SHA, the model asked (no tools), the edits applied and verified, then
   either a commit parented on the pinned SHA and a ``force: false`` ref
   update, or, for a fork that does not allow maintainer edits (or that this
   installation cannot write to), suggestions.
6. A reply in the same thread (to the thread's first comment, as GitHub
   requires for review threads; with a marker naming the comment), and a
   rocket or confused reaction.

Errors: ``GitHubError`` subclasses from the client. Transient ones
(``RateLimited``, ``ServerError``, ``TransportError``) release the claim and
propagate so the task can retry; ``BranchMoved`` becomes the "PR changed"
reply; anything else GitHub refuses becomes a failure reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from codex_common.jobs import CommandJob, ReviewJob
from codex_common.slash import parse_command
from workers.findings import Finding
from workers.fix import messages, policy
from workers.fix.apply import (
    Applied,
    EditFailure,
    Limits,
    Rejected,
    apply_proposal,
    locate_edit,
)
from workers.fix.messages import CommentRef
from workers.fix.prompt import PullText, render
from workers.fix.schema import FixProposal
from workers.fix.target import FixTarget, ReviewComment, named_paths, open_findings
from workers.github.errors import (
    BranchMoved,
    GitHubError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    Unprocessable,
)
from workers.model.ledger import CallContext
from workers.sanitize import sanitize, sanitize_code

log = logging.getLogger("workers.fix")

Outcome = Literal[
    "duplicate",
    "ignored",
    "help",
    "refused",
    "reviewed",
    "pushed",
    "suggested",
    "moved",
    "workflow",
    "no_change",
    "failed",
]
Reaction = Literal["eyes", "rocket", "confused"]
_TRANSIENT = (RateLimited, ServerError, TransportError)
DEFAULT_LIMITS = Limits()


# --- what the service needs from the outside ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comment:
    """The triggering comment as the service reads it, from either comment API."""

    id: int
    author_login: str
    author_type: str | None
    author_association: str | None
    body: str
    html_url: str
    review: ReviewComment | None = None  # set for review-thread comments


@dataclass(frozen=True, slots=True)
class Pull:
    number: int
    state: str
    title: str
    body: str
    head_sha: str
    head_ref: str
    head_repo: str | None
    base_repo: str
    maintainer_can_modify: bool

    @property
    def is_fork(self) -> bool:
        return self.head_repo != self.base_repo


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    patch: str | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ```suggestion comment on the RIGHT side of the PR diff."""

    path: str
    start_line: int
    line: int
    body: str


class CommandGitHub(Protocol):
    """The GitHub operations a command uses, on one repository with one installation token."""

    def app_login(self) -> str: ...

    def get_comment(self, kind: str, comment_id: int) -> Comment: ...

    def get_pull(self, number: int) -> Pull: ...

    def list_pull_files(self, number: int) -> Sequence[ChangedFile]: ...

    def list_review_comments(self, number: int) -> Sequence[ReviewComment]: ...

    def get_text(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref``; ``None`` when absent, binary or not UTF-8."""
        ...

    def reply(self, kind: str, number: int, comment_id: int, body: str) -> None:
        """Post ``body`` in the thread of comment ``comment_id`` (a thread's first comment)."""
        ...

    def react(self, kind: str, comment_id: int, content: Reaction) -> None: ...

    def permission(self, login: str) -> tuple[str | None, str | None]:
        """``(permission, role_name)`` from the collaborator permission endpoint."""
        ...

    def branch_sha(self, branch: str) -> str | None: ...

    def commit(self, parent_sha: str, files: Mapping[str, str], message: str) -> str:
        """Create blobs, a tree and a commit on ``parent_sha``; the new commit's SHA."""
        ...

    def move_branch(self, branch: str, sha: str) -> None:
        """Fast-forward ``branch`` to ``sha`` (``force: false``); ``BranchMoved`` otherwise."""
        ...

    def commit_url(self, sha: str) -> str: ...

    def suggest(
        self, number: int, head_sha: str, body: str, comments: Sequence[Suggestion]
    ) -> None:
        """Post one COMMENT review with the suggestion comments."""
        ...


class Structured(Protocol):
    """The model call: ``ModelClient.structured`` reduced to what a fix needs."""

    def propose(self, prompt: object, call: CallContext) -> FixProposal | str:
        """The model's proposal, or a reason it could not be had."""
        ...


class CommandLedger(Protocol):
    """Per-comment claims that outlive the task guard (see ``workers.fix.ledger``)."""

    def claim(self, token: str) -> bool: ...

    def finish(self, token: str) -> None: ...

    def release(self, token: str) -> None: ...


@dataclass(frozen=True, slots=True)
class CommandDeps:
    """Everything ``handle_command`` touches. ``head_github`` opens the fork's repository."""

    github: CommandGitHub
    head_github: Callable[[str], CommandGitHub]
    model: Structured
    ledger: CommandLedger
    # Runs the review now; returns one sentence on what it did, for the reply.
    run_review: Callable[[ReviewJob], str | None]
    help_text: str
    findings_of: Callable[[str], Finding | None]
    github_host: str = "github.com"
    limits: Limits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class _Context:
    job: CommandJob
    deps: CommandDeps
    ref: CommentRef
    comment: Comment

    def reply(self, body: str) -> None:
        # GitHub takes replies to a thread's first comment only, not to replies.
        review = self.comment.review
        target = review.thread_id if review is not None else self.job.comment_id
        self.deps.github.reply(self.job.comment_kind, self.job.pr_number, target, body)

    def react(self, content: Reaction) -> None:
        self.deps.github.react(self.job.comment_kind, self.job.comment_id, content)

    def finish(self, body: str, content: Reaction | None) -> None:
        self.reply(body)
        if content is not None:
            self.react(content)


# --- orchestration --------------------------------------------------------------------------


def handle_command(job: CommandJob, deps: CommandDeps) -> Outcome:
    """Run ``job``'s command once; the outcome names what happened (for logs and tests)."""
    ref = CommentRef(kind=job.comment_kind, comment_id=job.comment_id)
    if not deps.ledger.claim(ref.token):
        log.info("command already handled", extra={"command": ref.token})
        return "duplicate"
    try:
        outcome = _run(job, deps, ref)
    except _TRANSIENT:
        deps.ledger.release(ref.token)
        raise
    deps.ledger.finish(ref.token)
    return outcome


def _run(job: CommandJob, deps: CommandDeps, ref: CommentRef) -> Outcome:
    github = deps.github
    try:
        comment = github.get_comment(job.comment_kind, job.comment_id)
    except NotFound:
        return "ignored"
    if policy.is_automated(comment.author_login, comment.author_type, github.app_login()):
        return "ignored"
    command = parse_command(comment.body)
    if (
        command is None
        or command.name != job.command
        or comment.author_login.lower() != job.sender_login.lower()
    ):
        return "ignored"
    if job.comment_kind == "review_comment" and _already_answered(deps, job, ref):
        return "duplicate"

    ctx = _Context(job=job, deps=deps, ref=ref, comment=comment)
    ctx.react("eyes")
    if command.name == "help":
        ctx.reply(messages.help_reply(ref, deps.help_text, command.unknown))
        return "help"
    if not _authorised(github, comment):
        ctx.finish(messages.not_allowed(ref, command.name), "confused")
        return "refused"
    try:
        if command.name == "review":
            return _review(ctx)
        return _fix(ctx, command.argument)
    except _TRANSIENT:
        raise
    except GitHubError as exc:
        log.warning("command failed", extra={"command": ref.token, "error": str(exc)})
        ctx.finish(messages.failed(ref), "confused")
        return "failed"


def _already_answered(deps: CommandDeps, job: CommandJob, ref: CommentRef) -> bool:
    """Whether the App already replied to this review comment (the claim may have expired)."""
    app = deps.github.app_login().lower()
    return any(
        c.author_login.lower() == app and messages.answered(c.body, ref)
        for c in deps.github.list_review_comments(job.pr_number)
    )


def _authorised(github: CommandGitHub, comment: Comment) -> bool:
    if policy.precheck(comment.author_association) == "deny":
        return False
    try:
        permission, role = github.permission(comment.author_login)
    except NotFound:
        return False
    return policy.permission_allows(permission, role)


def _review(ctx: _Context) -> Outcome:
    job = ctx.job
    pull = ctx.deps.github.get_pull(job.pr_number)
    summary = ctx.deps.run_review(
        ReviewJob(
            delivery_id=job.delivery_id,
            installation_id=job.installation_id,
            repository=job.repository,
            pr_number=job.pr_number,
            head_sha=pull.head_sha,
            trigger="command",
            comment_id=job.comment_id,
        )
    )
    ctx.finish(messages.review_done(ctx.ref, summary), "rocket")
    return "reviewed"


def _fix(ctx: _Context, argument: str) -> Outcome:
    job, deps, ref = ctx.job, ctx.deps, ctx.ref
    github = deps.github
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

    files = {path: github.get_text(path, pinned) for path in target.paths}
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
    proposal = deps.model.propose(prompt, call)
    if isinstance(proposal, str):
        log.warning("fix model call failed", extra={"command": ref.token, "error": proposal})
        ctx.finish(messages.failed(ref), "confused")
        return "failed"
    if proposal.refusal or not proposal.edits:
        reason = _clean(ctx, proposal.refusal or "the model proposed no change.")
        ctx.finish(messages.nothing_to_fix(ref, reason), "confused")
        return "no_change"

    result = apply_proposal(proposal, files, frozenset(target.paths), deps.limits)
    if isinstance(result, Rejected):
        if result.workflow_paths:
            ctx.finish(messages.workflow_refused(ref, result.workflow_paths), "confused")
            return "workflow"
        problems = tuple(_clean(ctx, problem) for problem in result.problems)
        ctx.finish(messages.could_not_apply(ref, problems), "confused")
        return "no_change"

    summary = _clean(ctx, proposal.summary)

    def suggest() -> Outcome:
        return _suggest(ctx, pull, proposal, files, changed, summary)

    if pull.is_fork and not pull.maintainer_can_modify:
        return suggest()
    return _push(ctx, pull, pinned, result, argument, summary, suggest)


def _target(
    ctx: _Context, argument: str, changed: Sequence[ChangedFile], pinned: str
) -> FixTarget | None:
    github, job = ctx.deps.github, ctx.job
    review = ctx.comment.review
    if review is not None:
        root: ReviewComment | None = None
        if review.in_reply_to_id is not None:
            try:
                root = github.get_comment("review_comment", review.in_reply_to_id).review
            except NotFound:
                root = None
        anchor = root or review
        app = github.app_login().lower()
        finding = ctx.deps.findings_of(anchor.body) if anchor.author_login.lower() == app else None
        return FixTarget.for_thread(review, root, finding, argument)

    pr_files = [file.path for file in changed]
    if not argument.strip():
        app = github.app_login().lower()
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
        if github.get_text(path, pinned) is not None
    ]
    return FixTarget.for_conversation(argument, pr_files, (), named_existing=named)


def _push(
    ctx: _Context,
    pull: Pull,
    pinned: str,
    applied: Applied,
    argument: str,
    summary: str,
    suggest: Callable[[], Outcome],
) -> Outcome:
    """Commit on ``pinned`` and fast-forward the PR branch (``force: false``).

    A fork that allows maintainer edits may still be out of the installation's
    reach (GitHub answers 403, 404 or 422 there): then the fix is suggested instead.
    """
    job, ref = ctx.job, ctx.ref
    github = ctx.deps.github
    target_repo = pull.head_repo or job.repository
    fork = target_repo != job.repository
    head = ctx.deps.head_github(target_repo) if fork else github
    request = argument.strip() or "address the review findings"
    message = messages.commit_message(
        ref,
        request=request,
        summary=summary,
        comment_url=ctx.comment.html_url,
        requester_login=ctx.comment.author_login,
        requester_id=job.sender_id,
    )
    try:
        sha = head.commit(pinned, {c.path: c.after for c in applied.changes}, message)
    except (NotFound, PermissionDenied, Unprocessable) as exc:
        if not fork:
            raise
        log.info("fork not writable, suggesting", extra={"command": ref.token, "error": str(exc)})
        return suggest()
    try:
        head.move_branch(pull.head_ref, sha)
    except BranchMoved:
        ctx.finish(messages.head_moved(ref, pinned, head.branch_sha(pull.head_ref)), "confused")
        return "moved"
    body = messages.fixed(
        ref,
        commit_url=head.commit_url(sha),
        commit_sha=sha,
        summary=summary,
        files=applied.paths,
    )
    ctx.finish(body, "rocket")
    return "pushed"


def _suggest(
    ctx: _Context,
    pull: Pull,
    proposal: FixProposal,
    files: Mapping[str, str | None],
    changed: Sequence[ChangedFile],
    summary: str,
) -> Outcome:
    from workers.diff.patch import parse_patch

    diffs = {file.path: parse_patch(file.path, file.patch) for file in changed}
    suggestions: list[Suggestion] = []
    left_out: list[str] = []
    for edit in proposal.edits:
        text = files.get(edit.path)
        span = locate_edit(text, edit) if text is not None else EditFailure("absent")
        diff = diffs.get(edit.path)
        code = sanitize_code(edit.replacement)
        if (
            isinstance(span, EditFailure)
            or diff is None
            or code is None
            or not diff.same_hunk(span[0], span[1])
        ):
            left_out.append(edit.path)
            continue
        suggestions.append(
            Suggestion(path=edit.path, start_line=span[0], line=span[1], body=_suggestion(code))
        )
    if not suggestions:
        reason = (
            "the change falls outside the lines this PR's diff shows, so it cannot be suggested."
        )
        ctx.finish(messages.nothing_to_fix(ctx.ref, reason), "confused")
        return "no_change"
    ctx.deps.github.suggest(pull.number, pull.head_sha, summary or "Suggested fix.", suggestions)
    body = messages.suggested(
        ctx.ref, count=len(suggestions), summary=summary, left_out=tuple(dict.fromkeys(left_out))
    )
    ctx.finish(body, "rocket")
    return "suggested"


def _suggestion(code: str) -> str:
    """A suggestion block whose fence is longer than any backtick run in ``code``."""
    longest = run = 0
    for char in code:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = code if code.endswith("\n") or not code else code + "\n"
    return f"{fence}suggestion\n{body}{fence}"


def _clean(ctx: _Context, text: str) -> str:
    """Model text made safe to post: ``workers.sanitize`` plus a short length cap."""
    return sanitize(text, allowed_host=ctx.deps.github_host, max_bytes=2_000).strip()
