"""``codex-bot review OWNER/REPO#N [--dry-run]``: run the review pipeline once, in-process.

The same flow the worker runs (``workers.review.flow``), with a progress
bar over segments. GitHub access is the App's (``APP_ID`` + ``PRIVATE_KEY`` or
``PRIVATE_KEY_PATH``; the installation is looked up unless
``--installation-id`` is given) or a personal ``GITHUB_TOKEN``. With no
``REDIS_URL`` a private, throwaway Redis is started for the model client's
limiter, the ledger and the segment cache. ``--dry-run`` prints the review
instead of posting it, and opens no check run.

Exit codes: 0 done, 1 the review failed, 2 bad arguments or settings.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import github
import redis
from github import Auth
from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workers.diff import FileDiff, PlanOptions, ReviewPlan
from workers.github import GitHubApp, GitHubClient, LocalPacer, retry_policy
from workers.github.errors import GitHubError
from workers.github.models import AppIdentity
from workers.github.urls import web_host_for
from workers.jobs import ReviewJob
from workers.logs import configure_logging
from workers.model import ModelClient, ModelConfig, ModelSettings
from workers.redis_server import RedisServer
from workers.review.cache import SegmentCache
from workers.review.flow import ReviewFlow
from workers.review.outcome import DraftReview, PipelineSettings, ReviewDeps, ReviewOutcome
from workers.review.progress import SegmentStatus
from workers.review.segments import LocalReview, review_local_plan

_TARGET = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(?P<number>\d+)$")


class ReviewCliSettings(BaseSettings):
    """What ``codex-bot review`` reads from the environment (and ``.env``)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    github_token: SecretStr | None = None
    app_id: int | None = None
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    github_api_url: str = "https://api.github.com"
    openai_api_key: SecretStr
    openai_base_url: str = "https://api.openai.com/v1"
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CELERY_BROKER_URL")
    )

    def private_key_pem(self) -> str | None:
        if self.private_key is not None:
            return self.private_key.get_secret_value().replace("\\n", "\n")
        if self.private_key_path is not None:
            return self.private_key_path.read_text()
        return None


def parse_target(target: str) -> tuple[str, int]:
    """``owner/repo#12`` -> ``("owner/repo", 12)``; raises ``click.BadParameter``."""
    match = _TARGET.match(target.strip())
    if match is None:
        raise click.BadParameter(f"{target!r} is not OWNER/REPO#NUMBER", param_hint="TARGET")
    return match["repo"], int(match["number"])


@contextmanager
def _redis(url: str | None) -> Iterator[redis.Redis[bytes]]:
    if url:
        client: redis.Redis[bytes] = redis.Redis.from_url(url)
        try:
            yield client
        finally:
            client.close()
        return
    with tempfile.TemporaryDirectory(prefix="codex-review-") as tmp:
        server = RedisServer.start(Path(tmp), durable=False)
        client = redis.Redis.from_url(server.url)
        try:
            yield client
        finally:
            client.close()
            server.stop()


def _token_client(settings: ReviewCliSettings, token: str, repository: str) -> GitHubClient:
    """A client on a personal token; ``bot_login`` is then the token's user."""
    gh = github.Github(
        auth=Auth.Token(token), base_url=settings.github_api_url, retry=retry_policy()
    )
    return GitHubClient(
        gh.requester,
        repository=repository,
        installation_id=0,
        pacer=LocalPacer(),
        identity=lambda: AppIdentity(id=0, slug="codex-review"),
    )


class _Bar:
    """The pipeline's ``Progress`` drawn with rich."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("reading", total=None)
        self._total = 0

    def stage(self, name: str) -> None:
        self._progress.update(self._task, description=name)

    def segments_planned(self, total: int) -> None:
        self._total = total
        self._progress.update(self._task, total=total, completed=0)

    def segment_done(self, label: str, status: SegmentStatus) -> None:
        self._progress.advance(self._task)

    def segments_added(self, count: int) -> None:
        self._total += count
        self._progress.update(self._task, total=self._total)


def print_draft(console: Console, draft: DraftReview) -> None:
    console.rule(f"Review at {draft.commit_id[:12]} (not posted)")
    console.print(draft.body, markup=False, highlight=False)
    for comment in draft.comments:
        where = f"{comment.path}:{comment.line}"
        if comment.start_line is not None:
            where = f"{comment.path}:{comment.start_line}-{comment.line}"
        console.rule(where)
        console.print(comment.body, markup=False, highlight=False)


def describe(outcome: ReviewOutcome) -> str:
    cost = f"${outcome.cost_usd:.4f}"
    return (
        f"{outcome.status}: {outcome.reason} · {outcome.segments} segments "
        f"({outcome.cached_segments} cached, {outcome.segments_failed} failed) · "
        f"{outcome.inline} inline, {outcome.in_body} in the body · {cost}"
    )


@click.command()
@click.argument("target")
@click.option("--dry-run", is_flag=True, help="Print the review instead of posting it.")
@click.option("--installation-id", type=int, default=None, help="Skip the installation lookup.")
def review(target: str, dry_run: bool, installation_id: int | None) -> None:
    """Review one pull request now: codex-bot review OWNER/REPO#N."""
    repository, number = parse_target(target)
    # The flow logs; only warnings reach the terminal, on stderr, away from the output.
    configure_logging("WARNING", "console")
    console = Console(stderr=True)
    try:
        settings = ReviewCliSettings()
        model_config = ModelSettings(
            openai_api_key=settings.openai_api_key,
            openai_base_url=settings.openai_base_url,
        ).to_config()
    except (ValidationError, ValueError) as exc:
        click.echo(f"codex-bot review: invalid settings: {exc}", err=True)
        sys.exit(2)
    try:
        outcome = _run(settings, model_config, repository, number, installation_id, dry_run)
    except GitHubError as exc:
        click.echo(f"codex-bot review: GitHub said: {exc}", err=True)
        sys.exit(1)
    if outcome.draft is not None and dry_run:
        print_draft(Console(), outcome.draft)
    console.print(describe(outcome), markup=False, highlight=False)


def _run(
    settings: ReviewCliSettings,
    model_config: ModelConfig,
    repository: str,
    number: int,
    installation_id: int | None,
    dry_run: bool,
) -> ReviewOutcome:
    token = settings.github_token.get_secret_value() if settings.github_token else None
    bot_login: str | None = None
    factory: Callable[[int, str], GitHubClient]
    if token is not None:
        user = github.Github(auth=Auth.Token(token), base_url=settings.github_api_url).get_user()
        bot_login = user.login

        def factory_for_token(_installation: int, repo: str) -> GitHubClient:
            return _token_client(settings, token, repo)

        factory = factory_for_token
        installation = 0
    else:
        pem = settings.private_key_pem()
        if settings.app_id is None or pem is None:
            raise click.UsageError("set GITHUB_TOKEN, or APP_ID with PRIVATE_KEY(_PATH)")
        app = GitHubApp(settings.app_id, pem, settings.github_api_url)
        if installation_id is None:
            owner, name = repository.split("/")
            integration = github.GithubIntegration(
                auth=Auth.AppAuth(settings.app_id, pem), base_url=settings.github_api_url
            )
            installation_id = integration.get_repo_installation(owner, name).id
        installation = installation_id
        factory = app.installation_client
    with _redis(settings.redis_url) as store:
        model = ModelClient.create(model_config, store)
        deps = ReviewDeps(
            github=factory,
            model=model,
            redis=store,
            settings=PipelineSettings(
                web_host=web_host_for(settings.github_api_url), bot_login=bot_login
            ),
            cache=SegmentCache(store),
        )
        probe = factory(installation, repository)
        head = probe.get_pull(number).head_sha
        job = ReviewJob(
            delivery_id="cli",
            installation_id=installation,
            repository=repository,
            pr_number=number,
            head_sha=head,
            trigger="command",
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                return ReviewFlow(deps, progress=_Bar(bar)).run(job, dry_run=dry_run)
        finally:
            model.close()


# -- codex-bot review-diff (without --dry-run) ---------------------------------------------------


class LocalDiffSettings(BaseSettings):
    """What the model-backed ``review-diff`` reads: the model and, optionally, Redis."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    openai_api_key: SecretStr
    openai_base_url: str = "https://api.openai.com/v1"
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CELERY_BROKER_URL")
    )


def local_review_to_dict(result: LocalReview) -> dict[str, Any]:
    """The JSON shape of ``review-diff --format json``."""
    return {
        "findings": [
            {
                **a.finding.to_dict(),
                "path": a.path,
                "line": a.line,
                "start_line": a.start_line,
                "side": a.side,
                "suggestion": a.suggestion,
            }
            for a in result.anchored
        ],
        "unanchored": [{**u.finding.to_dict(), "reason": u.reason} for u in result.unanchored],
        "segments": [
            {
                "index": r.segment.index,
                "files": list(r.segment.paths),
                "status": r.status,
                "error": r.error,
                "halves": [
                    {
                        "files": [
                            {"path": path, "lines": list(lines) if lines else None}
                            for path, lines in half.coverage
                        ],
                        "status": half.status,
                        "error": half.error,
                    }
                    for half in r.parts
                ],
            }
            for r in result.results
        ],
        "usage": result.usage.to_dict(),
        "cost_usd": str(result.cost_usd),
        "model": result.model,
    }


def review_local_diff(
    files: Sequence[FileDiff],
    heads: Mapping[str, str],
    plan: ReviewPlan,
    fmt: str,
    options: PlanOptions | None = None,
) -> None:
    """Review ``plan``'s segments with the model and print the anchored findings."""
    # The model client logs; only warnings reach the terminal, on stderr, away from the JSON.
    configure_logging("WARNING", "console")
    try:
        settings = LocalDiffSettings()
        config = ModelSettings(
            openai_api_key=settings.openai_api_key, openai_base_url=settings.openai_base_url
        ).to_config()
    except (ValidationError, ValueError) as exc:
        click.echo(f"codex-bot review-diff: invalid settings: {exc}", err=True)
        sys.exit(2)
    with _redis(settings.redis_url) as store:
        model = ModelClient.create(config, store)
        try:
            result = review_local_plan(model, files, heads, plan, options=options)
        finally:
            model.close()
    if fmt == "json":
        click.echo(json.dumps(local_review_to_dict(result), indent=2))
        return
    for a in result.anchored:
        where = (
            f"{a.path}:{a.line}" if a.start_line is None else f"{a.path}:{a.start_line}-{a.line}"
        )
        click.echo(f"{where} [{a.finding.badge}] {a.finding.title}\n    {a.finding.body}")
        if a.suggestion is not None:
            click.echo(
                "    suggestion:\n" + "\n".join(f"      {x}" for x in a.suggestion.splitlines())
            )
    for miss in result.unanchored:
        click.echo(
            f"{miss.finding.path}:{miss.finding.line_start} [{miss.finding.badge}] "
            f"{miss.finding.title} (not anchored: {miss.reason})"
        )
    for r in (leaf for whole in result.results for leaf in whole.leaves):
        if r.status not in ("ok", "cached"):
            click.echo(f"not reviewed: {', '.join(r.segment.paths)}: {r.error or r.status}")
    u = result.usage
    click.echo(
        f"{len(result.anchored)} findings, {len(result.unanchored)} not anchored · "
        f"{u.input_tokens} input / {u.output_tokens} output tokens · "
        f"${result.cost_usd:.4f} · {result.model}"
    )
