"""The automatic review, end to end: one pull request at one head SHA becomes one review.

``ReviewService.run(job)`` is the whole flow, with every dependency passed in
(``ReviewDeps``): a GitHub client factory, the model client, Redis, settings
and a clock. The steps, in order:

1. an event for a head already recorded as reviewed ends at once, before any
   GitHub call; otherwise the PR is read; a job whose head SHA is no longer
   the PR's head is stale and does nothing (the job for the newer head does the
   work); the PR's files and reviews are then read alongside the next steps; a
   closed PR, a draft or a bot's PR (per configuration) is skipped with the
   reason logged;
2. read ``.github/codex-review.yml`` and the ``AGENTS.md`` files from the
   repository's default branch only (never from the PR's base or head: the PR
   must not be able to change its own review's instructions); an invalid file
   is reported once on the PR and nothing is reviewed;
3. check the repository's monthly budget;
4. open the "Codex review" check run at the head SHA (reused after a crash) in
   the background: it is a paced write, and nothing else waits for it;
5. from the bot's earlier reviews: their hidden markers give the last reviewed
   SHA and every fingerprint already posted; a review already made at this head
   ends the job (duplicate delivery, opened racing synchronize, a retried job);
6. take the diff: the commits since the last reviewed SHA when it is an
   ancestor of the head (compare API), else the whole PR;
7. head contents of the files to review: an added file is rebuilt from its
   patch, the others are fetched concurrently, the ``AGENTS.md`` files read
   meanwhile; plan the segments with them (enclosing scopes, suggestions);
8. review all segments concurrently, each through the content cache, each
   thread rendering its own prompt; a segment whose answer is cut off at the
   output limit (``incomplete``) is split in two and the halves reviewed once;
   what still does not fit is listed as not reviewed, with its lines;
9. anchor the findings to the PR's diff (not the incremental one: only lines
   of the PR diff take comments), choose inline versus summary, drop repeats,
   while the PR head is read again;
10. when the head moved, post nothing (the newer job wins);
11. post one review with event COMMENT at the reviewed SHA, under a per-PR
    lock (findings another run posted meanwhile are dropped first), and
    complete the check run with what was reviewed and what it cost.

A ``/codex review`` command (trigger ``command``) reviews the current head even
when it was reviewed already: the whole PR, with every finding posted before
filtered out, so a re-review posts only new findings, or a review that says
there are none.

Errors. GitHub failures (``workers.github.errors.GitHubError``) of optional
steps (one file's contents, the check run, a config-error comment) degrade the
review and are listed in it; failures of the steps the review cannot do without
propagate, so the task is retried. Model failures never raise: the segment is
listed as not reviewed. Whatever ends the run early, the check run is completed
with an honest message (best effort) before the error propagates.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import redis

from codex_common.jobs import ReviewJob
from workers.diff import (
    AnchoredFinding,
    AnchorResult,
    FileDiff,
    PlanOptions,
    ReviewPlan,
    Segment,
    Unanchored,
    anchor_findings,
    parse_patch,
    plan_review,
)
from workers.diff.patch import FileStatus
from workers.diff.segment import DEFAULT_SEGMENT_TOKENS, DEFAULT_TOTAL_TOKENS
from workers.findings import FINDINGS_SCHEMA, Finding
from workers.github.client import GitHubClient
from workers.github.errors import GitHubError, NotFound
from workers.github.models import DraftComment, PullFile, PullRequest, Review
from workers.model.client import ModelClient
from workers.model.ledger import CallContext, month_of
from workers.model.review import SegmentReview, parse_findings
from workers.model.wire import Usage
from workers.prompts.render import PullContext, render_prompt
from workers.review.cache import CachedSegment, SegmentCache, cache_key
from workers.review.config import CONFIG_PATH, ConfigErrors, RepoConfig, parse_config
from workers.review.guidelines import AGENTS_FILE, Guidelines
from workers.review.heads import known_heads
from workers.review.marker import PriorReviews
from workers.review.progress import NO_PROGRESS, Progress, SegmentStatus
from workers.review.render import NotReviewed as Gap
from workers.review.render import (
    NotReviewedKind,
    ReviewSummary,
    render_check_output,
    render_config_errors,
    render_inline,
    render_review_body,
)
from workers.review.render import Usage as RenderUsage
from workers.review.select import (
    CompareStatus,
    Inline,
    Plan,
    ReviewScope,
    check_conclusion,
    plan_for,
    review_scope,
    skip_reason,
)
from workers.review.split import Coverage, coverage, split_segment
from workers.review.toolhost import HeadToolHost

log = logging.getLogger("workers.review")

_T = TypeVar("_T")
_R = TypeVar("_R")

CHECK_RUN_NAME = "Codex review"

OutcomeStatus = Literal[
    "posted",  # a review was posted
    "quiet",  # reviewed, nothing new worth a review: the check run says so
    "skipped",  # closed, draft, bot author, auto review off, invalid configuration
    "stale",  # the job's head is not the PR's head any more
    "duplicate",  # this head was already reviewed
    "superseded",  # the head moved while reviewing: nothing posted
    "budget_exceeded",  # the repository's monthly budget is used up
    "dry_run",  # computed, printed by the caller, nothing written
]


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """Knobs of the review flow (worker settings map onto these)."""

    check_run_name: str = CHECK_RUN_NAME
    # The model client's Redis limiter enforces the real per-key limits across workers;
    # this only bounds the threads one review uses while waiting on them.
    model_concurrency: int = 24
    fetch_concurrency: int = 16
    segment_tokens: int = DEFAULT_SEGMENT_TOKENS
    total_tokens: int = DEFAULT_TOTAL_TOKENS
    max_file_bytes: int = 1_000_000
    max_content_files: int = 150
    use_tools: bool = True
    record_ttl_seconds: int = 90 * 24 * 3600
    post_lock_seconds: int = 120
    redis_prefix: str = "codex:review"
    web_host: str = "github.com"
    # Whose earlier reviews count as the bot's. None: the App's ``<slug>[bot]``; a
    # personal token (``codex-bot review`` with GITHUB_TOKEN) names its user here.
    bot_login: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewDeps:
    """Everything the flow touches. ``github(installation_id, repository)`` gives a client."""

    github: Callable[[int, str], GitHubClient]
    model: ModelClient
    redis: redis.Redis[bytes]
    settings: PipelineSettings = PipelineSettings()
    clock: Callable[[], float] = time.time
    cache: SegmentCache | None = None


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """One segment's answer, fresh or from the cache.

    ``coverage`` says which lines of which files the segment holds (empty: the
    whole of each file in it). ``parts`` are the two halves a segment was split
    into after its answer was cut off (``incomplete``); then ``findings``,
    ``usage`` and ``cost_usd`` include the halves', and what counts as reviewed
    or not is decided by the halves (``leaves``).
    """

    segment: Segment
    status: SegmentStatus
    findings: tuple[Finding, ...]
    usage: Usage
    cost_usd: Decimal
    model: str
    error: str | None = None
    coverage: Coverage = ()
    parts: tuple[SegmentResult, ...] = ()

    @property
    def reviewed(self) -> bool:
        return self.status in ("ok", "cached")

    @property
    def leaves(self) -> tuple[SegmentResult, ...]:
        """The results that were actually answered: the halves of a split segment, else
        the segment itself."""
        return self.parts or (self,)


@dataclass(frozen=True, slots=True)
class DraftReview:
    """The review as it will be (or would be) posted."""

    commit_id: str
    body: str
    comments: tuple[DraftComment, ...]


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """What one run did, for the task's log line, the CLI and the tests."""

    status: OutcomeStatus
    reason: str
    head_sha: str
    review_id: int | None = None
    check_run_id: int | None = None
    draft: DraftReview | None = None
    inline: int = 0
    in_body: int = 0
    segments: int = 0
    segments_failed: int = 0
    cached_segments: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal = Decimal(0)
    incremental: bool = False
    # Wall seconds per step (read, plan, review, post, check), for the log line only.
    timings: tuple[tuple[str, float], ...] = ()


class _Records:
    """The pipeline's own bookkeeping in Redis: check-run ids, reviewed heads, notices."""

    def __init__(self, client: redis.Redis[bytes], prefix: str, ttl: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl

    def _pr(self, job: ReviewJob) -> str:
        return f"{self._prefix}:{job.repository}#{job.pr_number}"

    def check_run(self, job: ReviewJob, head_sha: str) -> int | None:
        raw = self._redis.get(f"{self._pr(job)}:check:{head_sha}")
        return int(raw) if raw is not None else None

    def remember_check_run(self, job: ReviewJob, head_sha: str, check_run_id: int) -> None:
        self._redis.set(f"{self._pr(job)}:check:{head_sha}", check_run_id, ex=self._ttl)

    def forget_check_run(self, job: ReviewJob, head_sha: str) -> None:
        self._redis.delete(f"{self._pr(job)}:check:{head_sha}")

    def last_reviewed(self, job: ReviewJob) -> str | None:
        raw = self._redis.get(f"{self._pr(job)}:last")
        return raw.decode() if raw is not None else None

    def reviewed(self, job: ReviewJob, head_sha: str, fingerprints: Sequence[str]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(f"{self._pr(job)}:last", head_sha, ex=self._ttl)
        pipe.sadd(f"{self._pr(job)}:heads", head_sha)
        pipe.expire(f"{self._pr(job)}:heads", self._ttl)
        if fingerprints:
            pipe.sadd(f"{self._pr(job)}:fps", *fingerprints)
            pipe.expire(f"{self._pr(job)}:fps", self._ttl)
        pipe.execute()

    def was_reviewed(self, job: ReviewJob, head_sha: str) -> bool:
        return bool(self._redis.sismember(f"{self._pr(job)}:heads", head_sha))

    def fingerprints(self, job: ReviewJob) -> frozenset[str]:
        return frozenset(m.decode() for m in self._redis.smembers(f"{self._pr(job)}:fps"))

    def first_notice(self, job: ReviewJob, name: str) -> bool:
        """True once per ``name`` per PR: for notices that must not repeat on every push."""
        return bool(self._redis.set(f"{self._pr(job)}:notice:{name}", 1, nx=True, ex=self._ttl))

    def post_lock(self, job: ReviewJob, timeout: int) -> redis.lock.Lock:
        return self._redis.lock(
            f"{self._pr(job)}:post-lock", timeout=timeout, blocking_timeout=timeout
        )


@dataclass(frozen=True, slots=True)
class _Context:
    """What the steps share within one run."""

    job: ReviewJob
    gh: GitHubClient
    pull: PullRequest
    config: RepoConfig
    bot_login: str
    call: CallContext
    default_branch: str


@dataclass(frozen=True, slots=True)
class _Reads:
    """The PR's reviews and files, read once per run."""

    reviews: tuple[Review, ...]
    files: tuple[PullFile, ...]


class _Laps:
    """Wall time of the flow's steps as they end, for the log; never used to decide."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self._laps.append((name, round(now - self._last, 3)))
        self._last = now

    def items(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._laps)


class _CheckRun:
    """The check run being opened in the background; ``id()`` waits for it.

    Opening it is a write, and writes are spaced by the installation's pacer: the
    review reads and plans meanwhile instead of waiting for its turn.
    """

    def __init__(self, opening: Future[int | None] | None) -> None:
        self._opening = opening

    def id(self) -> int | None:
        return None if self._opening is None else self._opening.result()


@dataclass(frozen=True, slots=True)
class _Work:
    """What reviewing the planned segments needs, shared by their threads."""

    plan: ReviewPlan
    options: PlanOptions
    contents: Mapping[str, str]
    guidelines: Guidelines
    context: PullContext
    tools: HeadToolHost | None


class ReviewService:
    """Runs the review flow; one instance serves many jobs (it holds no per-job state)."""

    def __init__(self, deps: ReviewDeps, *, progress: Progress = NO_PROGRESS) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.progress = progress
        self.records = _Records(
            deps.redis, self.settings.redis_prefix, self.settings.record_ttl_seconds
        )

    # -- the flow ------------------------------------------------------------------------------

    def run(self, job: ReviewJob, *, dry_run: bool = False) -> ReviewOutcome:
        """Review ``job``; with ``dry_run`` nothing is written to GitHub or to the records."""
        laps = _Laps()
        self.progress.stage("reading")
        # An event for a head this bot already reviewed needs nothing from GitHub.
        if job.trigger != "command" and self.records.was_reviewed(job, job.head_sha):
            return ReviewOutcome("duplicate", f"{job.head_sha} was already reviewed", job.head_sha)
        gh = self.deps.github(job.installation_id, job.repository)
        # The first request also mints the installation token: alone, so that an
        # unreachable GitHub is waited for once, not once per thread.
        pull = gh.get_pull(job.pr_number)
        # A command reviews whatever the head is now; an event only the head it names.
        if job.trigger != "command" and pull.head_sha != job.head_sha:
            log.info("stale review job: the PR head is now %s", pull.head_sha[:12])
            return ReviewOutcome("stale", f"the PR head moved to {pull.head_sha}", job.head_sha)
        # The PR's reviews and files are read while the configuration is: a PR skipped
        # by its configuration wastes two reads, every other job saves a round trip.
        # The third thread opens the check run once the configuration allows a review.
        early = ThreadPoolExecutor(max_workers=3, thread_name_prefix="review-read")
        try:
            reviews = early.submit(gh.list_reviews, pull.number)
            files = early.submit(gh.list_pull_files, pull.number)
            return self._run(job, gh, pull, early, reviews, files, laps, dry_run=dry_run)
        finally:
            early.shutdown(wait=False, cancel_futures=True)

    def _run(
        self,
        job: ReviewJob,
        gh: GitHubClient,
        pull: PullRequest,
        early: ThreadPoolExecutor,
        reviews: Future[tuple[Review, ...]],
        files: Future[tuple[PullFile, ...]],
        laps: _Laps,
        *,
        dry_run: bool,
    ) -> ReviewOutcome:
        head = pull.head_sha
        bot_login = self.settings.bot_login or gh.app_identity().bot_login

        default_branch = _default_branch(gh, pull)
        config_or_errors = self._read_config(gh, default_branch)
        if isinstance(config_or_errors, ConfigErrors):
            if not dry_run:
                self._report_config_errors(job, gh, head, config_or_errors)
            reason = "invalid " + CONFIG_PATH
            return ReviewOutcome("skipped", reason, head)
        config = config_or_errors
        skip = skip_reason(
            state=pull.state,
            draft=pull.draft,
            author_login=pull.author_login,
            author_type=pull.author_type,
            config=config,
            requested=job.trigger == "command",
        )
        if skip is not None:
            log.info("review skipped: %s", skip.message)
            return ReviewOutcome("skipped", skip.message, head)

        call = CallContext(
            job.installation_id, job.repository, job.pr_number, head, job.delivery_id
        )
        ctx = _Context(job, gh, pull, config, bot_login, call, default_branch)

        budget_message = self._over_budget(ctx)
        if budget_message is not None:
            if not dry_run:
                self._report_budget(ctx, budget_message)
            return ReviewOutcome("budget_exceeded", budget_message, head)

        if job.trigger != "command" and self.records.was_reviewed(job, head):
            return ReviewOutcome("duplicate", f"{head} was already reviewed", head)

        check = _CheckRun(None if dry_run else early.submit(self._open_check_run, ctx))
        try:
            reads = _Reads(reviews.result(), files.result())
            laps.lap("read")
            outcome = self._review(ctx, check, reads, laps, dry_run=dry_run)
        except BaseException as exc:
            # Best effort, then the error goes on to the task (which may retry).
            check_id = check.id()
            if check_id is not None:
                self._abandon_check_run(ctx, check_id, exc)
            raise
        return replace(outcome, check_run_id=check.id(), timings=laps.items())

    def _review(
        self, ctx: _Context, check: _CheckRun, reads: _Reads, laps: _Laps, *, dry_run: bool
    ) -> ReviewOutcome:
        job, gh, pull, config = ctx.job, ctx.gh, ctx.pull, ctx.config
        head = pull.head_sha
        prior = PriorReviews.collect(
            bot_login=ctx.bot_login, reviews=[(r.author_login, r.body) for r in reads.reviews]
        )
        if job.trigger != "command" and head in prior.reviewed_heads:
            check_id = check.id()
            if check_id is not None:
                self._finish_check(
                    ctx,
                    check_id,
                    "neutral",
                    "Already reviewed",
                    (f"A review of `{head[:12]}` was already posted on this pull request."),
                )
            if not dry_run:
                self.records.reviewed(job, head, ())
            return ReviewOutcome("duplicate", f"{head} was already reviewed", head)

        pr_diffs = tuple(file_diff(f) for f in reads.files)
        scope, diffs = self._scope(ctx, prior, pr_diffs)
        if scope.kind == "up_to_date" and job.trigger != "command":
            check_id = check.id()
            if check_id is not None:
                self._finish_check(ctx, check_id, "neutral", "Nothing new to review", scope.reason)
            if not dry_run:
                self.records.reviewed(job, head, ())
            return ReviewOutcome("duplicate", scope.reason, head)

        self.progress.stage("planning")
        options = PlanOptions(
            include=tuple(config.include),
            exclude=tuple(config.exclude),
            segment_tokens=self.settings.segment_tokens,
            total_tokens=self.settings.total_tokens,
        )
        wanted = self._wanted(diffs, options, config)
        # An added file is whole in its patch: only the other files are fetched. The
        # AGENTS.md files are read meanwhile and only waited for after planning.
        chosen = set(wanted)
        known = known_heads((d for d in pr_diffs if d.path in chosen), self.settings.max_file_bytes)
        with ThreadPoolExecutor(max_workers=1) as side:
            agents = side.submit(self._agents, gh, ctx.default_branch, wanted)
            fetched, unreadable = self._fetch(gh, head, [p for p in wanted if p not in known])
            contents = {**known, **fetched}
            for path, problem in unreadable:
                # Still reviewed from its diff, only without enclosing scopes and suggestions.
                log.warning("head contents of %s unavailable: %s", path, problem)
            plan = plan_review(diffs, contents, options)
            agent_texts = agents.result()
        guidelines = Guidelines.resolve(
            agent_texts, [f.path for segment in plan.segments for f in segment.files]
        )
        laps.lap("plan")

        self.progress.stage("reviewing")
        results = self._review_segments(ctx, plan, options, contents, guidelines)
        laps.lap("review")

        # The head is read again while the findings are placed and rendered.
        with ThreadPoolExecutor(max_workers=1) as side:
            reread = None if dry_run else side.submit(gh.get_pull, pull.number)
            reread_at = time.monotonic()
            leaves = [leaf for result in results for leaf in result.leaves]
            findings = [finding for result in results for finding in result.findings]
            anchors = anchor_findings(findings, pr_diffs, contents)
            usage = sum((r.usage for r in results), Usage())
            cost = sum((r.cost_usd for r in results), Decimal(0))
            summary = review_summary(
                head_sha=head,
                base_sha=pull.base_sha,
                scope=scope,
                plan=plan,
                results=results,
                model=_models_used(results) or self.deps.model.config.model,
                usage=usage,
                cost_usd=cost,
            )
            host = self.settings.web_host
            known_fps = prior.fingerprints | self.records.fingerprints(job)
            decided, draft = compose_review(summary, anchors, config, known_fps, host)
            current_head = None if reread is None else reread.result().head_sha
        base = ReviewOutcome(
            "dry_run",
            "dry run: nothing posted",
            head,
            draft=draft,
            inline=len(decided.inline),
            in_body=len(decided.listed),
            segments=len(leaves),
            segments_failed=sum(not r.reviewed for r in leaves),
            cached_segments=sum(r.status == "cached" for r in leaves),
            usage=usage,
            cost_usd=cost,
            incremental=scope.kind == "incremental",
        )
        if dry_run:
            return base
        self.progress.stage("posting")
        with self.records.post_lock(job, self.settings.post_lock_seconds):
            if time.monotonic() - reread_at > _REREAD_SECONDS:
                # The lock was held by another job for a while: the head read is old.
                current_head = gh.get_pull(pull.number).head_sha
            if current_head != head:
                check_id = check.id()
                if check_id is not None:
                    self._finish_check(
                        ctx,
                        check_id,
                        "neutral",
                        "Superseded",
                        (
                            f"The pull request moved to `{str(current_head)[:12]}` during the "
                            f"review of `{head[:12]}`; nothing was posted for the old commit."
                        ),
                    )
                return replace(base, status="superseded", reason="the PR head moved")
            if job.trigger != "command" and self.records.was_reviewed(job, head):
                return replace(base, status="duplicate", reason=f"{head} was already reviewed")
            # Another run for this PR (a `/codex review` racing the automatic one) may
            # have posted some of these findings since they were decided.
            posted_since = self.records.fingerprints(job) - known_fps
            if posted_since & set(decided.posted_fingerprints):
                decided, draft = compose_review(
                    summary, anchors, config, known_fps | posted_since, host
                )
                base = replace(
                    base, draft=draft, inline=len(decided.inline), in_body=len(decided.listed)
                )
            quiet = not decided.inline and not decided.listed and not summary.not_reviewed
            review_id: int | None = None
            # A push with nothing new says so in the check run only: no review noise.
            if not (quiet and job.trigger == "synchronize"):
                posted = gh.create_review(pull.number, head, draft.body, draft.comments)
                review_id = posted.id
            self.records.reviewed(job, head, decided.posted_fingerprints)
        laps.lap("post")
        check_id = check.id()
        if check_id is not None:
            conclusion = check_conclusion(
                reviewed_segments=sum(r.reviewed for r in leaves),
                p0_found=decided.p0_found,
                gate_on_p0=config.gate_on_p0,
            )
            output = render_check_output(summary, decided, conclusion=conclusion, allowed_host=host)
            self._finish_check(ctx, check_id, conclusion, output.title, output.summary, output.text)
        laps.lap("check")
        status: OutcomeStatus = "posted" if review_id is not None else "quiet"
        reason = "review posted" if review_id is not None else "nothing new to post"
        return replace(base, status=status, reason=reason, review_id=review_id)

    # -- steps ---------------------------------------------------------------------------------

    def _scope(
        self, ctx: _Context, prior: PriorReviews, pr_diffs: tuple[FileDiff, ...]
    ) -> tuple[ReviewScope, tuple[FileDiff, ...]]:
        """Full or incremental, and the file diffs to segment."""
        head = ctx.pull.head_sha
        last = self.records.last_reviewed(ctx.job) or prior.last_reviewed_sha
        if ctx.job.trigger == "command":
            # A person asked for a review: the whole PR, repeats still filtered out.
            return ReviewScope("full", "requested with `/codex review`"), pr_diffs
        status: CompareStatus | None = None
        truncated = False
        files: tuple[PullFile, ...] = ()
        if last is not None and last != head and ctx.config.incremental:
            try:
                comparison = ctx.gh.compare(last, head)
            except NotFound:
                comparison = None  # the old head is gone: force-pushed away
            if comparison is not None:
                status = _compare_status(comparison.status)
                files = comparison.files
                truncated = len(files) >= _COMPARE_FILE_CAP
        scope = review_scope(
            head_sha=head,
            last_reviewed_sha=last,
            compare_status=status,
            incremental=ctx.config.incremental,
            compare_truncated=truncated,
        )
        if scope.kind != "incremental":
            return scope, pr_diffs
        # Only files still changed by the PR can take comments.
        in_pr = {d.path for d in pr_diffs}
        return scope, tuple(file_diff(f) for f in files if f.filename in in_pr)

    def _fetch(
        self, gh: GitHubClient, ref: str, paths: Sequence[str]
    ) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """Head contents of ``paths``; a file that cannot be read is reviewed without them."""
        contents: dict[str, str] = {}
        unreadable: list[tuple[str, str]] = []

        def one(path: str) -> tuple[str, str | None, str | None]:
            try:
                data = gh.get_file(path, ref)
            except GitHubError as exc:
                return path, None, f"could not be read ({exc.status or type(exc).__name__})"
            if data is None:
                return path, None, "not found at the head commit"
            if len(data) > self.settings.max_file_bytes:
                return path, None, f"larger than {self.settings.max_file_bytes} bytes"
            return path, data.decode("utf-8", "replace"), None

        for path, text, problem in self._map(one, paths, self.settings.fetch_concurrency):
            if text is not None:
                contents[path] = text
            elif problem is not None:
                unreadable.append((path, problem))
        return contents, unreadable

    def _wanted(
        self, diffs: Sequence[FileDiff], options: PlanOptions, config: RepoConfig
    ) -> list[str]:
        """The files whose head contents the review needs.

        Usually every changed file with lines to review. A PR too large for one
        review is planned once without contents first, so that only the files
        within the budget are fetched.
        """
        rules = config.path_filter()
        candidates = sorted(
            d.path
            for d in diffs
            if d.hunks and d.status != "removed" and rules.reason_skipped(d.path) is None
        )
        if len(candidates) <= self.settings.max_content_files:
            return candidates
        rough = plan_review(diffs, {}, options)
        return sorted({f.path for segment in rough.segments for f in segment.files})

    def _agents(self, gh: GitHubClient, branch: str, paths: Sequence[str]) -> dict[str, str]:
        """``AGENTS.md`` files from the default branch in the directories above ``paths``."""
        candidates: set[str] = set()
        for path in paths:
            directory = posixpath.dirname(path)
            while True:
                candidates.add(posixpath.join(directory, AGENTS_FILE))
                if not directory:
                    break
                directory = posixpath.dirname(directory)

        def one(path: str) -> tuple[str, str | None]:
            try:
                data = gh.get_file(path, branch)
            except GitHubError as exc:
                log.warning("could not read %s: %s", path, exc)
                return path, None
            return path, None if data is None else data.decode("utf-8", "replace")

        return {
            path: text
            for path, text in self._map(one, sorted(candidates), self.settings.fetch_concurrency)
            if text is not None
        }

    def _review_segments(
        self,
        ctx: _Context,
        plan: ReviewPlan,
        options: PlanOptions,
        contents: Mapping[str, str],
        guidelines: Guidelines,
    ) -> list[SegmentResult]:
        pull = ctx.pull
        context = PullContext(
            repository=ctx.job.repository,
            title=pull.title,
            body=pull.body,
            base_ref=pull.base_ref,
            head_ref=pull.head_ref,
        )
        tools = (
            HeadToolHost(ctx.gh.get_file, pull.head_sha, contents)
            if self.settings.use_tools
            else None
        )
        work = _Work(plan, options, contents, guidelines, context, tools)
        self.progress.segments_planned(len(plan.segments))

        def one(segment: Segment) -> SegmentResult:
            # Each thread renders its own prompt: the first calls start while the
            # other prompts are still being rendered.
            result = self._review_segment(ctx, work, segment)
            if result.status != "incomplete":
                return result
            return self._split_and_retry(ctx, work, result)

        return self._map(one, list(plan.segments), self.settings.model_concurrency)

    def _split_and_retry(self, ctx: _Context, work: _Work, cut: SegmentResult) -> SegmentResult:
        """Review the two halves of a segment whose answer was cut off, once each."""
        halves = split_segment(cut.segment, work.plan.files, work.contents, work.options)
        if not halves:
            log.warning("segment %s was cut off and cannot be split", _label(cut.segment))
            return replace(cut, error=_UNSPLITTABLE)
        self.progress.segments_added(len(halves))
        log.info("segment %s was cut off: reviewing it in two halves", _label(cut.segment))
        parts = self._map(
            lambda half: self._review_segment(ctx, work, half.segment, half.coverage),
            list(halves),
            len(halves),
        )
        return merge_halves(cut, parts)

    def _review_segment(
        self,
        ctx: _Context,
        work: _Work,
        segment: Segment,
        covers: Coverage | None = None,
    ) -> SegmentResult:
        prompt = render_prompt(
            segment,
            work.context,
            _segment_guidelines(segment, work.guidelines, ctx.config),
            parts=len(work.plan.segments),
        )
        if covers is None:
            covers = coverage(segment, work.plan.files)
        client = self.deps.model
        model = ctx.config.model or client.config.model
        effort = ctx.config.reasoning_effort or client.config.reasoning_effort
        key = cache_key(
            model=model, effort=effort, instructions=prompt.instructions, input_text=prompt.input
        )
        cache = self.deps.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            self.progress.segment_done(_label(segment), "cached")
            return SegmentResult(
                segment, "cached", hit.findings, Usage(), Decimal(0), hit.model, coverage=covers
            )
        if ctx.config.model is not None or ctx.config.reasoning_effort is not None:
            # The repository chose its model: no escalation to another one.
            result = client.structured(
                prompt,
                ctx.call,
                "review_findings",
                FINDINGS_SCHEMA,
                parse=parse_findings,
                tools=work.tools,
                model=ctx.config.model,
                reasoning_effort=ctx.config.reasoning_effort,
            )
            review = SegmentReview.from_results(result)
        else:
            review = client.review_segment(prompt, ctx.call, work.tools)
        if review.status == "ok" and cache is not None:
            cache.put(
                key, CachedSegment(review.findings, review.needs_deeper, review.model, review.usage)
            )
        self.progress.segment_done(_label(segment), review.status)
        return SegmentResult(
            segment,
            review.status,
            review.findings if review.status == "ok" else (),
            review.usage,
            review.cost_usd,
            review.model,
            review.error,
            coverage=covers,
        )

    @staticmethod
    def _map(fn: Callable[[_T], _R], items: Sequence[_T], workers: int) -> list[_R]:
        """``fn`` over ``items`` on up to ``workers`` threads, results in order."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
            return list(pool.map(fn, items))

    # -- configuration, budget, notices --------------------------------------------------------

    def _read_config(self, gh: GitHubClient, branch: str) -> RepoConfig | ConfigErrors:
        data = gh.get_file(CONFIG_PATH, branch)
        return parse_config(None if data is None else data.decode("utf-8", "replace"))

    def _report_config_errors(
        self, job: ReviewJob, gh: GitHubClient, head: str, errors: ConfigErrors
    ) -> None:
        """One comment per distinct set of errors on a PR, not one per push."""
        digest = hashlib.sha256("\n".join(errors.messages).encode()).hexdigest()[:16]
        if not self.records.first_notice(job, f"config:{digest}"):
            return
        body = render_config_errors(errors, used_defaults=False)
        try:
            gh.create_issue_comment(job.pr_number, body)
        except GitHubError as exc:
            log.warning("could not report configuration errors: %s", exc)

    def _over_budget(self, ctx: _Context) -> str | None:
        ledger = self.deps.model.ledger
        now = self.deps.clock()
        decision = ledger.check(ctx.job.repository, now)
        if not decision.allowed:
            return decision.message or "the monthly model budget is used up"
        limit = ctx.config.monthly_budget_usd
        if limit is None:
            return None
        month = month_of(now)
        spent = ledger.spent(ctx.job.repository, month)
        if spent < Decimal(str(limit)):
            return None
        return (
            f"The monthly budget of ${limit} set in `{CONFIG_PATH}` is used up "
            f"(${spent.quantize(Decimal('0.01'))} spent in {month}); no automatic reviews run "
            "until next month or until the budget is raised."
        )

    def _report_budget(self, ctx: _Context, message: str) -> None:
        month = month_of(self.deps.clock())
        if not self.records.first_notice(ctx.job, f"budget:{month}"):
            return
        try:
            ctx.gh.create_issue_comment(ctx.job.pr_number, message)
        except GitHubError as exc:
            log.warning("could not report the exhausted budget: %s", exc)

    # -- the check run -------------------------------------------------------------------------

    def _open_check_run(self, ctx: _Context) -> int | None:
        """The in-progress check run for this head: the one a crashed run left, or a new one.

        Check runs are informative: when GitHub refuses them (no ``checks``
        permission, an outage), the review goes on without one.
        """
        head = ctx.pull.head_sha
        try:
            existing = self.records.check_run(ctx.job, head)
        except redis.RedisError as exc:
            log.warning("could not look up an earlier check run: %s", exc)
            existing = None
        try:
            if existing is not None:
                try:
                    ctx.gh.update_check_run(existing, status="in_progress")
                    return existing
                except NotFound:
                    pass
            created = ctx.gh.create_check_run(
                self.settings.check_run_name, head, status="in_progress", external_id=ctx.job.key
            )
        except GitHubError as exc:
            log.warning("no check run for this review: %s", exc)
            return None
        try:
            self.records.remember_check_run(ctx.job, head, created.id)
        except redis.RedisError as exc:
            # Only a crashed run's retry needs it: it would open a second check run.
            log.warning("could not remember check run %s: %s", created.id, exc)
        return created.id

    def _finish_check(
        self,
        ctx: _Context,
        check_id: int,
        conclusion: str,
        title: str,
        summary: str,
        text: str | None = None,
    ) -> None:
        """Complete the check run. A completed one is not reopened later: a `/codex review`
        of the same head gets a check run of its own, and the first one keeps its result."""
        try:
            ctx.gh.update_check_run(
                check_id,
                status="completed",
                conclusion=conclusion,
                title=title,
                summary=summary,
                text=text,
            )
        except GitHubError as exc:
            log.warning("could not complete check run %s: %s", check_id, exc)
            return
        try:
            self.records.forget_check_run(ctx.job, ctx.pull.head_sha)
        except redis.RedisError as exc:
            log.warning("could not forget completed check run %s: %s", check_id, exc)

    def _abandon_check_run(self, ctx: _Context, check_id: int, exc: BaseException) -> None:
        """Complete the check run honestly after a failure; the retry opens a fresh one."""
        what = type(exc).__name__
        self._finish_check(
            ctx,
            check_id,
            "neutral",
            "Review interrupted",
            f"The review of `{ctx.pull.head_sha[:12]}` stopped before it finished ({what}). "
            "Nothing was posted; it is retried automatically when possible, or comment "
            "`/codex review` to ask again.",
        )
        try:
            self.records.forget_check_run(ctx.job, ctx.pull.head_sha)
        except redis.RedisError:
            log.warning("could not forget check run %s", check_id)


def run_review(job: ReviewJob, deps: ReviewDeps) -> ReviewOutcome:
    """Review ``job`` once with ``deps`` (the worker's entry point)."""
    return ReviewService(deps).run(job)


# -- small pure helpers ------------------------------------------------------------------------

_COMPARE_FILE_CAP = 300


def file_diff(pull_file: PullFile) -> FileDiff:
    """The parsed diff of one file as the PR files or compare API lists it."""
    return parse_patch(
        pull_file.filename,
        pull_file.patch,
        status=_file_status(pull_file.status),
        old_path=pull_file.previous_filename,
    )


def _file_status(status: str) -> FileStatus:
    known: dict[str, FileStatus] = {
        "added": "added",
        "removed": "removed",
        "modified": "modified",
        "renamed": "renamed",
        "copied": "copied",
        "changed": "changed",
        "unchanged": "unchanged",
    }
    return known.get(status, "modified")


def _compare_status(status: str) -> CompareStatus | None:
    known: dict[str, CompareStatus] = {
        "ahead": "ahead",
        "behind": "behind",
        "diverged": "diverged",
        "identical": "identical",
    }
    return known.get(status)


def _default_branch(gh: GitHubClient, pull: PullRequest) -> str:
    """The branch trusted configuration and guidelines are read from: the repository's
    default branch (never the PR's base or head, which the PR's author may control)."""
    if pull.default_branch:
        return pull.default_branch
    return gh.get_default_branch()


def _label(segment: Segment) -> str:
    paths = segment.paths
    more = f" +{len(paths) - 1}" if len(paths) > 1 else ""
    return f"{paths[0]}{more}" if paths else f"segment {segment.index + 1}"


def _segment_guidelines(
    segment: Segment, guidelines: Guidelines, config: RepoConfig
) -> dict[str, str]:
    """The guideline sections that apply to this segment's files, by source path.

    The repository's comment language is a trusted instruction from the default
    branch's configuration, so it travels with the guidelines.
    """
    paths = set(segment.paths)
    chosen = {g.source: g.text for g in guidelines.sections if paths & set(g.paths)}
    if config.language.lower() not in ("en", "english"):
        chosen[CONFIG_PATH] = (
            f"Write every finding's title and body in this language: {config.language}. "
            "Quotes and suggestions stay exactly as the code is."
        )
    return chosen


def _models_used(results: Sequence[SegmentResult]) -> str:
    return ", ".join(sorted({r.model for r in results if r.model}))


def compose_review(
    summary: ReviewSummary,
    anchors: AnchorResult,
    config: RepoConfig,
    already_posted: frozenset[str],
    host: str,
) -> tuple[Plan[AnchoredFinding], DraftReview]:
    """Where each finding goes and the review that says so, leaving out every
    fingerprint in ``already_posted``."""
    decided = plan_for(anchors.anchored, anchors.unanchored, config, prior=already_posted)
    draft = DraftReview(
        commit_id=summary.head_sha,
        body=render_review_body(summary, decided, allowed_host=host),
        comments=tuple(
            draft_comment(item, render_inline(item, allowed_host=host)) for item in decided.inline
        ),
    )
    return decided, draft


def draft_comment(item: Inline[AnchoredFinding], body: str) -> DraftComment:
    """The inline comment for a planned finding, on the lines the anchor engine verified."""
    anchored = item.anchored
    start = anchored.start_line if anchored.start_line != anchored.line else None
    return DraftComment(
        path=anchored.path,
        line=anchored.line,
        body=body,
        side=anchored.side,
        start_line=start,
        start_side=anchored.side if start is not None else None,
    )


def _gap_kind(reason: str) -> NotReviewedKind:
    if "configuration" in reason:
        return "filtered"
    if reason == "binary":
        return "no_patch"
    if "longer than" in reason:
        return "too_large"
    return "other"


def review_summary(
    *,
    head_sha: str,
    base_sha: str,
    scope: ReviewScope,
    plan: ReviewPlan,
    results: Sequence[SegmentResult],
    model: str,
    usage: Usage,
    cost_usd: Decimal,
) -> ReviewSummary:
    """The facts of one run as the renderer shows them, including everything left out."""
    gaps: list[Gap] = []
    for skipped in plan.skipped:
        if skipped.reason in _QUIET_SKIPS:
            continue
        sort = _gap_kind(skipped.reason)
        gaps.append(Gap(skipped.path, sort, detail=skipped.reason if sort == "other" else None))
    for left in plan.not_reviewed:
        for path, lines in coverage(left.segment, plan.files):
            gaps.append(Gap(path, "budget", lines=lines, detail=left.reason))
    leaves = [leaf for result in results for leaf in result.leaves]
    reviewed = [r for r in leaves if r.reviewed]
    for failed in (r for r in leaves if not r.reviewed):
        detail = failed.error or failed.status
        kind: NotReviewedKind = _FAILED_KINDS.get(failed.status, "model_error")
        covered = failed.coverage or tuple((path, None) for path in failed.segment.paths)
        for path, lines in covered:
            gaps.append(Gap(path, kind, lines=lines, detail=detail[:200]))
    files = {part.path for r in reviewed for part in r.segment.files}
    return ReviewSummary(
        head_sha=head_sha,
        base_sha=base_sha,
        model=model,
        files_reviewed=len(files),
        lines_reviewed=sum(r.segment.changed_lines for r in reviewed),
        segments_reviewed=len(reviewed),
        segments_total=len(leaves) + len(plan.not_reviewed),
        usage=RenderUsage(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=float(cost_usd),
        ),
        not_reviewed=tuple(gaps),
        scope_note=scope.reason,
    )


# Deleted files and whitespace-only changes leave nothing to review: not worth a line.
_QUIET_SKIPS = frozenset({"deleted", "no textual changes"})
_FAILED_KINDS: dict[str, NotReviewedKind] = {
    "budget_exceeded": "budget",
    "incomplete": "incomplete",
}
# A head read before waiting this long for the posting lock is read again.
_REREAD_SECONDS = 2.0


def web_host_for(api_url: str) -> str:
    """The web host of a GitHub API URL: ``api.github.com`` -> ``github.com``; a GitHub
    Enterprise Server's ``https://HOST/api/v3`` -> ``HOST``. Links to it stay clickable in
    posted text; links elsewhere are neutralised."""
    host = urlsplit(api_url).hostname or "github.com"
    return "github.com" if host == "api.github.com" else host


@dataclass(frozen=True, slots=True)
class LocalReview:
    """The model's review of a local diff (``codex-bot review-diff``), anchored."""

    results: tuple[SegmentResult, ...]
    anchored: tuple[AnchoredFinding, ...]
    unanchored: tuple[Unanchored, ...]
    usage: Usage
    cost_usd: Decimal
    model: str


def review_plan_locally(
    model: ModelClient,
    files: Sequence[FileDiff],
    heads: Mapping[str, str],
    plan: ReviewPlan,
    *,
    options: PlanOptions | None = None,
    concurrency: int = 8,
) -> LocalReview:
    """Review ``plan``'s segments of a local diff: no GitHub, no cache, no posting.

    Without head contents (``heads``) findings are still anchored to the diff's
    lines; suggestions then need the file and are dropped. A segment whose answer
    is cut off is split in two and the halves reviewed once, as in the pipeline.
    """
    context = PullContext(repository="local diff")
    call = CallContext(0, "local/diff", 0, "0" * 40, "review-diff")
    total = len(plan.segments)

    def ask(segment: Segment, covers: Coverage) -> SegmentResult:
        prompt = render_prompt(segment, context, {}, parts=total)
        review = model.review_segment(prompt, call, None)
        ok = review.status == "ok"
        return SegmentResult(
            segment,
            review.status,
            review.findings if ok else (),
            review.usage,
            review.cost_usd,
            review.model,
            review.error,
            coverage=covers,
        )

    def one(segment: Segment) -> SegmentResult:
        result = ask(segment, coverage(segment, plan.files))
        if result.status != "incomplete":
            return result
        halves = split_segment(segment, plan.files, heads, options or PlanOptions())
        if not halves:
            return replace(result, error=_UNSPLITTABLE)
        parts = [ask(half.segment, half.coverage) for half in halves]
        return merge_halves(result, parts)

    results = ReviewService._map(one, list(plan.segments), concurrency)
    anchors = anchor_findings([f for r in results for f in r.findings], files, heads)
    return LocalReview(
        results=tuple(results),
        anchored=anchors.anchored,
        unanchored=anchors.unanchored,
        usage=sum((r.usage for r in results), Usage()),
        cost_usd=sum((r.cost_usd for r in results), Decimal(0)),
        model=_models_used(results) or model.config.model,
    )


_UNSPLITTABLE = "the answer was cut off and the segment cannot be split"


def merge_halves(cut: SegmentResult, parts: Sequence[SegmentResult]) -> SegmentResult:
    """``cut`` (an ``incomplete`` answer) with the results of its halves as its parts.

    The findings are the halves'; usage and cost add the cut-off call's. A half
    cut off again stays unreviewed, with a reason that says so.
    """
    marked = tuple(
        replace(p, error="still cut off after the segment was split in two")
        if p.status == "incomplete"
        else p
        for p in parts
    )
    return replace(
        cut,
        findings=tuple(f for p in marked for f in p.findings),
        usage=sum((p.usage for p in marked), cut.usage),
        cost_usd=sum((p.cost_usd for p in marked), cut.cost_usd),
        parts=marked,
    )
