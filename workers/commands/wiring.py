"""The commands wired to the worker process: real GitHub and model clients.

``run_command(job, runtime, enqueue_review)`` is the command task's work;
``answer_review_command(job, result, runtime)`` is what the review task calls
after a review asked for with ``/codex review``. Tokens are minted per
repository, with ``contents: write`` only for the command path (the review
path never needs it). Bot comments are trusted for their finding marker only
because the fix checks their author first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from codex_common.jobs import CommandJob, ReviewJob
from codex_common.logs import get_logger
from workers.commands.context import CommandDeps, CommandGitHub
from workers.commands.dispatch import answer_gave_up, handle_command
from workers.commands.outsiders import OutsiderGate, RedisOutsiderGate
from workers.commands.prompt import FixPrompt
from workers.commands.review import ReviewResult, answer_review
from workers.commands.schema import FIX_SCHEMA, SCHEMA_NAME, FixProposal
from workers.findings import Finding
from workers.github import GitHubApp
from workers.github.auth import REVIEW_PERMISSIONS
from workers.model.client import ModelClient
from workers.model.ledger import CallContext
from workers.review.marker import parse_comment_finding
from workers.review.render import help_text
from workers.runtime import Runtime

log = get_logger("workers.commands")

FIX_PERMISSIONS: Final[Mapping[str, str]] = {**REVIEW_PERMISSIONS, "contents": "write"}


@dataclass(frozen=True, slots=True)
class ModelAdapter:
    """``Structured`` over ``ModelClient``: the fix schema, no tools."""

    client: ModelClient

    def propose(self, prompt: object, call: CallContext) -> FixProposal | str:
        assert isinstance(prompt, FixPrompt)
        result = self.client.structured(
            prompt, call, SCHEMA_NAME, FIX_SCHEMA, parse=FixProposal.from_model_output, tools=None
        )
        if result.ok and result.value is not None:
            return result.value
        return result.error or result.status


def build_deps(
    job: CommandJob,
    *,
    app: GitHubApp,
    model: ModelClient,
    enqueue_review: Callable[[ReviewJob], bool],
    help_text: str,
    findings_of: Callable[[str], Finding | None],
    github_web_url: str | None = None,
    outsiders: OutsiderGate,
) -> CommandDeps:
    """``CommandDeps`` for ``job``, with clients scoped to its repository (and its fork)."""

    def client(repository: str) -> CommandGitHub:
        return app.installation_client(job.installation_id, repository, FIX_PERMISSIONS)

    return CommandDeps(
        github=client(job.repository),
        head_github=client,
        model=ModelAdapter(model),
        enqueue_review=enqueue_review,
        help_text=help_text,
        findings_of=findings_of,
        github_web_url=github_web_url,
        outsiders=outsiders,
    )


def run_command(
    job: CommandJob, runtime: Runtime, enqueue_review: Callable[[ReviewJob], bool]
) -> None:
    """Run the command written in ``job``'s comment and reply in its thread."""
    log.info(
        "command job received",
        repository=job.repository,
        pr_number=job.pr_number,
        command=job.command,
        comment_id=job.comment_id,
    )
    deps = build_deps(
        job,
        app=runtime.github,
        model=runtime.model,
        enqueue_review=enqueue_review,
        help_text=help_text(),
        findings_of=parse_comment_finding,
        github_web_url=runtime.settings.github_web_url,
        outsiders=RedisOutsiderGate(runtime.redis),
    )
    outcome = handle_command(job, deps)
    log.info("command finished", command=job.command, outcome=outcome)


def answer_review_command(
    job: ReviewJob, result: ReviewResult | None, runtime: Runtime, cause: str | None = None
) -> None:
    """Reply to the ``/codex review`` comment behind ``job`` (``None``: the review failed,
    for ``cause``)."""
    if job.reply_comment_id is None:
        return
    github = runtime.github.installation_client(job.installation_id, job.repository)
    answer_review(github, job, result, cause)


def answer_failed_command(job: CommandJob, runtime: Runtime, cause: str) -> None:
    """Tell the comment behind ``job`` that its command gave up, and why; nothing when the
    comment is gone or the App already answered it."""
    github = runtime.github.installation_client(job.installation_id, job.repository)
    answer_gave_up(github, job, cause)
