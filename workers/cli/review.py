"""``codex-bot review OWNER/REPO#N [--dry-run]``: run the review pipeline once, in-process.

The same flow the worker runs (``workers.review.flow``), with a progress
bar over segments, through the same GitHub client layer (``workers.github``).
GitHub access is the App's (``APP_ID`` + ``PRIVATE_KEY`` or
``PRIVATE_KEY_PATH``; the installation is looked up unless
``--installation-id`` is given) or a personal ``GITHUB_TOKEN``, whose user
(``GET /user``) is then the author the pipeline looks for when it finds its own
earlier review: like a push, a head it already reviewed is not reviewed again
(``--again`` asks, as ``/codex review`` does). Settings come from the
environment and ``.env``. With no
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
import redis
from pydantic import Field, SecretStr, field_validator, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from codex_common.jobs import ReviewJob
from codex_common.logs import configure_logging
from codex_common.settings import ENV_FILE, ConfigError, load_settings
from workers.config import GitHubSettings, read_private_key
from workers.context.items import SegmentContext
from workers.diff import FileDiff, PlanOptions, ReviewPlan
from workers.github import GitHubApp, GitHubClient, GitHubToken
from workers.github.errors import GitHubError
from workers.mirror import InstallationTokens, Mirror, RepoMirrors
from workers.model import ModelClient, ModelConfig, ModelSettings
from workers.redis_server import RedisServer
from workers.review.cache import SegmentCache
from workers.review.flow import ReviewFlow
from workers.review.outcome import DraftReview, PipelineSettings, ReviewDeps, ReviewOutcome
from workers.review.outsiders import OutsiderPolicy
from workers.review.progress import SegmentStatus
from workers.review.segments import LocalReview, review_local_plan

_TARGET = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(?P<number>\d+)$")


class ReviewCliSettings(GitHubSettings):
    """What ``codex-bot review`` reads: the worker's model and GitHub sections, and either a
    personal ``GITHUB_TOKEN`` or the App's ``APP_ID`` with its private key."""

    github_token: SecretStr | None = None
    app_id: int | None = Field(default=None, gt=0)
    private_key: SecretStr | None = None
    private_key_path: Path | None = None

    @field_validator("github_token", "app_id", "private_key", "private_key_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_identity(self) -> ReviewCliSettings:
        if self.token() is not None:
            return self
        if self.app_id is None:
            raise ValueError(
                "GITHUB_TOKEN, or APP_ID with PRIVATE_KEY or PRIVATE_KEY_PATH, is required"
            )
        self.private_key_pem()  # raises a ValueError naming the setting
        return self

    def token(self) -> str | None:
        """The personal token, when one is set."""
        return self.github_token.get_secret_value() if self.github_token else None

    def private_key_pem(self) -> bytes:
        return read_private_key(self.private_key, self.private_key_path)


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


def _fixed_token(token: str) -> InstallationTokens:
    """A personal token: the same one for every repository, nothing to refresh."""

    def tokens(installation: int, repository: str, refresh: bool) -> str:
        return token

    return tokens


def _app_tokens(app: GitHubApp) -> InstallationTokens:
    def tokens(installation: int, repository: str, refresh: bool) -> str:
        return app.installation_token(installation, repository, refresh=refresh)

    return tokens


def print_context(console: Console, contexts: Sequence[SegmentContext]) -> None:
    """Each segment's related code, as ``review-diff --dry-run`` lists it."""
    for found in contexts:
        console.rule(f"Segment {found.segment + 1}: related code, {found.tokens} tokens")
        for item in found.items:
            console.print(
                f"{item.kind}: {item.path}:{item.start_line}-{item.end_line} {item.symbol}",
                markup=False,
                highlight=False,
            )


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
@click.option(
    "--again",
    is_flag=True,
    help="Review even a head already reviewed, as /codex review does (only new findings are "
    "posted; drafts are reviewed too).",
)
def review(target: str, dry_run: bool, installation_id: int | None, again: bool) -> None:
    """Review one pull request now: codex-bot review OWNER/REPO#N."""
    repository, number = parse_target(target)
    # The flow logs; only warnings reach the terminal, on stderr, away from the output.
    configure_logging("WARNING", "console")
    console = Console(stderr=True)
    try:
        settings = load_settings(ReviewCliSettings, env_file=ENV_FILE)
    except ConfigError as exc:
        click.echo(f"codex-bot review: {exc}", err=True)
        sys.exit(2)
    try:
        outcome = _run(
            settings, settings.to_config(), repository, number, installation_id, dry_run, again
        )
    except GitHubError as exc:
        click.echo(f"codex-bot review: GitHub said: {exc}", err=True)
        sys.exit(1)
    if outcome.draft is not None and dry_run:
        print_draft(Console(), outcome.draft)
        print_context(Console(), outcome.context)
    console.print(describe(outcome), markup=False, highlight=False)


def _run(
    settings: ReviewCliSettings,
    model_config: ModelConfig,
    repository: str,
    number: int,
    installation_id: int | None,
    dry_run: bool,
    again: bool,
) -> ReviewOutcome:
    token = settings.token()
    # The operator asked for this review: the outsider policy is for automatic ones.
    pipeline = PipelineSettings(
        web_url=settings.github_web_url,
        min_confidence=settings.min_confidence,
        context_tokens=settings.context_tokens,
        outsiders=OutsiderPolicy("review"),
    )
    factory: Callable[[int, str], GitHubClient]
    tokens: InstallationTokens
    # Either way the client knows who it acts as, and the pipeline finds its own
    # earlier reviews by that login.
    if token is not None:
        factory = GitHubToken(
            token, settings.github_api_url, pool_size=pipeline.github_threads
        ).installation_client
        installation = 0
        tokens = _fixed_token(token)
    else:
        assert settings.app_id is not None  # checked with the settings
        app = GitHubApp(
            settings.app_id,
            settings.private_key_pem().decode(),
            settings.github_api_url,
            pool_size=pipeline.github_threads,
        )
        if installation_id is None:
            installation_id = app.repo_installation(repository)
        installation = installation_id
        factory = app.installation_client
        tokens = _app_tokens(app)
    mirrors = None
    if settings.mirror_max_bytes > 0:
        mirror = Mirror(settings.data_dir / "mirrors", max_bytes=settings.mirror_max_bytes)
        mirrors = RepoMirrors(mirror, tokens)
    with _redis(settings.redis_url) as store:
        model = ModelClient.create(model_config, store)
        deps = ReviewDeps(
            github=factory,
            model=model,
            redis=store,
            settings=pipeline,
            cache=SegmentCache(store),
            mirror=mirrors,
        )
        probe = factory(installation, repository)
        head = probe.get_pull(number).head_sha
        job = ReviewJob(
            delivery_id="cli",
            installation_id=installation,
            repository=repository,
            pr_number=number,
            head_sha=head,
            # Without --again the run is what a push of this head would do: a head
            # already reviewed ends as a duplicate, so running twice posts once.
            trigger="command" if again else "synchronize",
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
    *,
    related: Mapping[int, SegmentContext] | None = None,
) -> None:
    """Review ``plan``'s segments with the model and print the anchored findings;
    ``related`` is each segment's related code, shown in its prompt."""
    # The model client logs; only warnings reach the terminal, on stderr, away from the JSON.
    configure_logging("WARNING", "console")
    try:
        settings = load_settings(ModelSettings, env_file=ENV_FILE)
    except ConfigError as exc:
        click.echo(f"codex-bot review-diff: {exc}", err=True)
        sys.exit(2)
    with _redis(settings.redis_url) as store:
        model = ModelClient.create(settings.to_config(), store)
        try:
            result = review_local_plan(
                model, files, heads, plan, options=options, related=related or {}
            )
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
