"""``codex-bot review OWNER/REPO#N [--dry-run]``: run the review pipeline once, in-process.

The same flow the worker runs (``workers.review.flow``), with a progress
bar over segments, through the same GitHub client layer (``workers.github``).
GitHub access is the App's (``APP_ID`` + ``PRIVATE_KEY`` or
``PRIVATE_KEY_PATH``; the installation is looked up unless
``--installation-id`` is given) or a personal ``GITHUB_TOKEN``, whose user
(``GET /user``) is then the author the pipeline looks for when it finds its own
earlier review: like a push, a head it already reviewed is not reviewed again
(``--again`` asks, as ``/codex review`` does). Settings come from the
environment and the settings file (``--env-file``, else ``.env`` here or at the
project root). With no
``REDIS_URL`` a private, throwaway Redis is started for the model client's
limiter, the ledger and the segment cache. ``--dry-run`` prints the review
instead of posting it, and opens no check run.

Exit codes: 0 done, 1 the review failed (GitHub, the model or Redis out of reach
or refusing the credentials: one plain line, never a traceback), 2 bad arguments
or settings.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import redis
from pydantic import Field, SecretStr, field_validator, model_validator
from rich.console import Console

from codex_common.cli import env_file_option, settings_file, settings_help, settings_or_exit
from codex_common.jobs import ReviewJob
from codex_common.logs import configure_logging
from codex_common.settings import load_settings
from workers.cli.plain import github_failure, model_failure, redis_failure
from workers.cli.progress import segment_progress
from workers.config import GitHubSettings, read_private_key
from workers.context.items import SegmentContext
from workers.diff import FileDiff, PlanOptions, ReviewPlan
from workers.github import GitHubApp, GitHubClient, GitHubToken
from workers.github.auth import retry_policy
from workers.github.errors import GitHubError
from workers.mirror import InstallationTokens, Mirror, RepoMirrors
from workers.model import ModelClient, ModelConfig, ModelSettings
from workers.model.errors import ModelError
from workers.redis_server import redis_at
from workers.review.cache import SegmentCache
from workers.review.flow import ReviewFlow
from workers.review.outcome import DraftReview, PipelineSettings, ReviewDeps, ReviewOutcome
from workers.review.outsiders import OutsiderPolicy
from workers.review.segments import LocalReview, review_local_plan

# A person is waiting: two retries (about 6 s), not the worker's five (about 30 s).
_CLI_RETRY = retry_policy(total=2)
REVIEW_NEEDS = ("OPENAI_API_KEY", "GITHUB_TOKEN, or APP_ID with PRIVATE_KEY_PATH (or PRIVATE_KEY)")
REVIEW_DIFF_NEEDS = ("OPENAI_API_KEY (not for --dry-run)",)
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


@click.command(
    epilog=settings_help(
        REVIEW_NEEDS,
        "; optional GITHUB_API_URL, OPENAI_BASE_URL, OPENAI_MODEL and REDIS_URL "
        "(unset: a throwaway Redis)",
    )
)
@click.argument("target")
@env_file_option
@click.option("--dry-run", is_flag=True, help="Print the review instead of posting it.")
@click.option("--installation-id", type=int, default=None, help="Skip the installation lookup.")
@click.option(
    "--again",
    is_flag=True,
    help="Review even a head already reviewed, as /codex review does (only new findings are "
    "posted; drafts are reviewed too).",
)
def review(
    target: str,
    env_file: Path | None,
    dry_run: bool,
    installation_id: int | None,
    again: bool,
) -> None:
    """Review one pull request now: TARGET is OWNER/REPO#N."""
    repository, number = parse_target(target)
    env_file = settings_file(env_file, "codex-bot review")
    # The flow logs; only errors reach the terminal (on stderr, away from the output): what
    # retries and warnings would say ends in the outcome line or in one line of failure.
    configure_logging("ERROR", "console")
    console = Console(stderr=True)
    settings = settings_or_exit(
        lambda: load_settings(ReviewCliSettings, env_file=env_file),
        env_file,
        REVIEW_NEEDS,
        "codex-bot review",
    )
    config = settings.to_config()
    try:
        outcome = _run(settings, config, repository, number, installation_id, dry_run, again)
    except GitHubError as exc:
        click.echo(f"codex-bot review: {github_failure(settings.github_api_url, exc)}", err=True)
        sys.exit(1)
    except redis.RedisError as exc:
        click.echo(f"codex-bot review: {redis_failure(settings.redis_url or '', exc)}", err=True)
        sys.exit(1)
    except ModelError as exc:
        click.echo(f"codex-bot review: {model_failure(config.base_url, exc)}", err=True)
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
            token,
            settings.github_api_url,
            pool_size=pipeline.github_threads,
            retry=_CLI_RETRY,
            timeout=settings.github_timeout_seconds,
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
            retry=_CLI_RETRY,
            timeout=settings.github_timeout_seconds,
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
    with redis_at(settings.redis_url, prefix="codex-review-") as store:
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
        try:
            with segment_progress() as bar:
                return ReviewFlow(deps, progress=bar).run(job, dry_run=dry_run)
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
    env_file: Path | None = None,
    *,
    related: Mapping[int, SegmentContext] | None = None,
) -> None:
    """Review ``plan``'s segments with the model and print the anchored findings; a
    progress bar over the segments on stderr when it is a terminal; ``related`` is each
    segment's related code, shown in its prompt."""
    prog = "codex-bot review-diff"
    # The model client logs; only errors reach the terminal, on stderr, away from the JSON.
    configure_logging("ERROR", "console")
    settings = settings_or_exit(
        lambda: load_settings(ModelSettings, env_file=env_file), env_file, REVIEW_DIFF_NEEDS, prog
    )
    config = settings.to_config()
    try:
        with redis_at(settings.redis_url, prefix="codex-review-") as store:
            model = ModelClient.create(config, store)
            try:
                with segment_progress() as bar:
                    result = review_local_plan(
                        model,
                        files,
                        heads,
                        plan,
                        options=options,
                        progress=bar,
                        related=related or {},
                    )
            finally:
                model.close()
    except redis.RedisError as exc:
        click.echo(f"{prog}: {redis_failure(settings.redis_url or '', exc)}", err=True)
        sys.exit(1)
    except ModelError as exc:
        click.echo(f"{prog}: {model_failure(config.base_url, exc)}", err=True)
        sys.exit(1)
    failed = [r for r in result.results if r.status not in ("ok", "cached")]
    if result.results and len(failed) == len(result.results) and not result.anchored:
        # Nothing was reviewed: say why in one line instead of a list of identical errors.
        reason = failed[0].error or failed[0].status
        click.echo(
            f"{prog}: no segment was reviewed: the model API at {config.base_url} failed "
            f"({reason})",
            err=True,
        )
        sys.exit(1)
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
