"""The real dependencies of ``handle_command``: GitHub client, model client and Redis ledger.

``build_deps`` turns the process's long-lived clients into a ``CommandDeps``
for one job. Tokens are minted per repository with ``contents: write`` only
for the command path (the review path never needs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import redis

from codex_common.jobs import CommandJob, ReviewJob
from workers.findings import Finding
from workers.fix.prompt import FixPrompt
from workers.fix.schema import FIX_SCHEMA, SCHEMA_NAME, FixProposal
from workers.fix.service import (
    ChangedFile,
    CommandDeps,
    Comment,
    Pull,
    Reaction,
    Suggestion,
)
from workers.fix.target import ReviewComment
from workers.github import DraftComment, GitHubApp, GitHubClient
from workers.github.auth import REVIEW_PERMISSIONS
from workers.github.models import IssueComment
from workers.github.models import ReviewComment as ClientComment
from workers.model.client import ModelClient
from workers.model.ledger import CallContext

FIX_PERMISSIONS: Final[Mapping[str, str]] = {**REVIEW_PERMISSIONS, "contents": "write"}
RUNNING_SECONDS: Final = 15 * 60
DONE_SECONDS: Final = 30 * 24 * 3600


class GitHubAdapter:
    """``CommandGitHub`` over ``GitHubClient`` for one repository."""

    def __init__(self, client: GitHubClient, pull_url: Callable[[], str]) -> None:
        self._client = client
        self._pull_url = pull_url

    def app_login(self) -> str:
        return self._client.app_identity().bot_login

    def get_comment(self, kind: str, comment_id: int) -> Comment:
        thread: ReviewComment | None = None
        comment: IssueComment | ClientComment
        if kind == "issue_comment":
            comment = self._client.get_issue_comment(comment_id)
        else:
            comment = self._client.get_review_comment(comment_id)
            thread = _thread_comment(comment)
        return Comment(
            id=comment.id,
            author_login=comment.author_login,
            author_type=comment.author_type,
            author_association=comment.author_association,
            body=comment.body,
            html_url=comment.html_url,
            review=thread,
        )

    def get_pull(self, number: int) -> Pull:
        pull = self._client.get_pull(number)
        return Pull(
            number=pull.number,
            state=pull.state,
            title=pull.title,
            body=pull.body,
            head_sha=pull.head_sha,
            head_ref=pull.head_ref,
            head_repo=pull.head_repo,
            base_repo=pull.base_repo,
            maintainer_can_modify=pull.maintainer_can_modify,
        )

    def list_pull_files(self, number: int) -> Sequence[ChangedFile]:
        return tuple(
            ChangedFile(path=f.filename, patch=f.patch)
            for f in self._client.list_pull_files(number)
        )

    def list_review_comments(self, number: int) -> Sequence[ReviewComment]:
        return tuple(_thread_comment(c) for c in self._client.list_review_comments(number))

    def get_text(self, path: str, ref: str) -> str | None:
        data = self._client.get_file(path, ref)
        if data is None or b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def reply(self, kind: str, number: int, comment_id: int, body: str) -> None:
        if kind == "issue_comment":
            self._client.create_issue_comment(number, body)
        else:
            self._client.reply_to_review_comment(number, comment_id, body)

    def react(self, kind: str, comment_id: int, content: Reaction) -> None:
        self._client.add_reaction(
            "issue_comment" if kind == "issue_comment" else "review_comment", comment_id, content
        )

    def permission(self, login: str) -> tuple[str | None, str | None]:
        return (self._client.get_permission(login), None)

    def branch_sha(self, branch: str) -> str | None:
        return self._client.get_branch_sha(branch)

    def commit(self, parent_sha: str, files: Mapping[str, str], message: str) -> str:
        changes: dict[str, bytes | None] = {p: t.encode("utf-8") for p, t in files.items()}
        return self._client.commit_files(parent_sha, changes, message)

    def move_branch(self, branch: str, sha: str) -> None:
        self._client.update_branch(branch, sha)

    def commit_url(self, sha: str) -> str:
        return f"{self._pull_url()}/commits/{sha}"

    def suggest(
        self, number: int, head_sha: str, body: str, comments: Sequence[Suggestion]
    ) -> None:
        drafts = [
            DraftComment(
                path=c.path,
                line=c.line,
                body=c.body,
                start_line=c.start_line if c.start_line < c.line else None,
            )
            for c in comments
        ]
        self._client.create_review(number, head_sha, body, drafts)


def _thread_comment(comment: ClientComment) -> ReviewComment:
    return ReviewComment(
        id=comment.id,
        path=comment.path,
        line=comment.line,
        start_line=comment.start_line,
        original_line=comment.original_line if comment.original_line is not None else comment.line,
        original_start_line=(
            comment.original_start_line
            if comment.original_start_line is not None
            else comment.start_line
        ),
        side=comment.side or "RIGHT",
        diff_hunk=comment.diff_hunk,
        in_reply_to_id=comment.in_reply_to_id,
        author_login=comment.author_login,
        body=comment.body,
    )


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


class RedisCommandLedger:
    """Per-comment claims: ``running`` for a bounded time, then ``done`` for a month.

    A claim that is ``running`` when its process dies expires after
    ``RUNNING_SECONDS``, so a later redelivery can run the command; a ``done``
    claim makes every later delivery a no-op.
    """

    def __init__(self, client: redis.Redis[bytes], prefix: str = "codex:command") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, token: str) -> str:
        return f"{self._prefix}:{token}"

    def claim(self, token: str) -> bool:
        return bool(self._redis.set(self._key(token), "running", nx=True, ex=RUNNING_SECONDS))

    def finish(self, token: str) -> None:
        self._redis.set(self._key(token), "done", ex=DONE_SECONDS)

    def release(self, token: str) -> None:
        self._redis.delete(self._key(token))


def build_deps(
    job: CommandJob,
    *,
    app: GitHubApp,
    model: ModelClient,
    redis_client: redis.Redis[bytes],
    run_review: Callable[[ReviewJob], str | None],
    help_text: str,
    findings_of: Callable[[str], Finding | None],
    github_host: str = "github.com",
    ledger_prefix: str = "codex:command",
) -> CommandDeps:
    """``CommandDeps`` for ``job``, with clients scoped to its repository (and its fork)."""
    pull_url = f"https://{github_host}/{job.repository}/pull/{job.pr_number}"

    def adapter(repository: str) -> GitHubAdapter:
        client = app.installation_client(job.installation_id, repository, FIX_PERMISSIONS)
        return GitHubAdapter(client, lambda: pull_url)

    return CommandDeps(
        github=adapter(job.repository),
        head_github=adapter,
        model=ModelAdapter(model),
        ledger=RedisCommandLedger(redis_client, ledger_prefix),
        run_review=run_review,
        help_text=help_text,
        findings_of=findings_of,
        github_host=github_host,
    )
