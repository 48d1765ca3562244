"""The automatic review, end to end: one pull request at one head SHA becomes one review.

``ReviewFlow.run(job)`` is the whole flow, with every dependency passed in
(``ReviewDeps``): a GitHub client factory, the model client, Redis, settings
and a clock. The steps, in order:

1. an event for a head already recorded as reviewed ends at once, before any
   GitHub call; otherwise the PR is read; a job whose head SHA is no longer
   the PR's head is stale and does nothing (the job for the newer head does the
   work); the PR's files and reviews are then read alongside the next steps; a
   closed PR, a draft or a bot's PR (per configuration) is skipped with the
   reason logged;
2. list the repository's default branch once, then read ``.github/codex-review.yml``
   (when listed) and, in step 7, the listed ``AGENTS.md`` files that apply, from
   that branch only (never from the PR's base or head: the PR must not be able to
   change its own review's instructions); an invalid file is reported once on the
   PR and nothing is reviewed (``trusted``, ``inputs``);
3. check the monthly budgets (``budget``); an automatic review of a PR whose
   author has no write access follows ``OUTSIDER_REVIEWS`` (``outsiders``): held
   ones complete their check run as neutral with the reason;
4. open the "Codex review" check run at the head SHA (reused after a crash) in
   the background: it is a paced write, and nothing else waits for it
   (``checkrun``);
5. from the bot's earlier reviews: their hidden markers give the last reviewed
   SHA and every fingerprint already posted; a review already made at this head
   ends the job (duplicate delivery, opened racing synchronize, a retried job);
6. take the diff: the commits since the last reviewed SHA when it is an
   ancestor of the head (compare API), else the whole PR;
7. head contents of the files to review: an added file is rebuilt from its
   patch, the others come from the repository's mirror at the head (else the
   API, concurrently, and the check run says so), the ``AGENTS.md`` files read
   meanwhile; plan the segments with them (enclosing scopes, suggestions) and
   choose each segment's related code from the mirror (``workers.context``);
8. review all segments (``segments.SegmentReviewer``: content cache, model,
   split-and-retry of a segment whose answer was cut off);
9. anchor the findings to the PR's diff (not the incremental one: only lines
   of the PR diff take comments), choose inline versus summary, drop repeats,
   while the PR head is read again (``summary``);
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
propagate to the caller (the task), which retries the transient ones and, when
it gives up, completes the check run left in progress with the cause
(``ReviewCheckRun.report_failure``). A segment the model failed on for a
transient reason ends the run with ``SegmentsPending`` while ``may_retry``
holds (the task's next attempt takes the reviewed segments from the cache);
on the last attempt the review is posted with those segments listed as not
reviewed. Other model failures never raise: the segment is listed as not
reviewed.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.diff import anchor_findings
from workers.github.client import GitHubClient
from workers.github.links import link_host, pull_page
from workers.github.models import PullFile, PullRequest, Review, TreeListing
from workers.model.config import ModelConfig
from workers.model.lifecycle import repository_choice_problems
from workers.model.wire import Usage
from workers.review import budget, inputs, outsiders, trusted
from workers.review.checkrun import (
    ALREADY_REVIEWED,
    ReviewCheckRun,
    already_reviewed_text,
    complete_left_open,
)
from workers.review.config import CONFIG_PATH, ConfigErrors, RepoConfig
from workers.review.laps import Laps
from workers.review.marker import PriorReviews
from workers.review.outcome import OutcomeStatus, ReviewDeps, ReviewOutcome, SegmentsPending
from workers.review.progress import NO_PROGRESS, Progress
from workers.review.records import ReviewRecords
from workers.review.render_check import render_check_output
from workers.review.segments import SegmentReviewer, models_used
from workers.review.select import ReviewScope, check_conclusion, skip_reason
from workers.review.summary import compose_review, summarize_run
from workers.review.work import Trusted, plan_work
from workers.stats.hooks import record_applied, record_posted
from workers.stats.records import ReviewStats

log = get_logger("workers.review")

# A head read before waiting this long for the posting lock is read again.
_REREAD_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Run:
    """What the steps share within one run."""

    job: ReviewJob
    gh: GitHubClient
    pull: PullRequest
    config: RepoConfig
    bot_login: str
    default_branch: str
    listing: TreeListing | None
    check: ReviewCheckRun
    dry_run: bool
    may_retry: bool = False

    @property
    def head(self) -> str:
        return self.pull.head_sha

    @property
    def automatic(self) -> bool:
        """An event's review, as opposed to one a person asked for with ``/codex review``."""
        return self.job.trigger != "command"


def _refuse_unusable_model(
    config: RepoConfig, model: ModelConfig, now: float
) -> RepoConfig | ConfigErrors:
    """A repository's model or effort the bot cannot use is reported before any call."""
    today = datetime.fromtimestamp(now, UTC).date()
    problems = repository_choice_problems(model, config.model, config.reasoning_effort, today)
    return ConfigErrors(problems) if problems else config


class ReviewFlow:
    """Runs the review flow; one instance serves many jobs (it holds no per-job state)."""

    def __init__(self, deps: ReviewDeps, *, progress: Progress = NO_PROGRESS) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.progress = progress
        self.records = ReviewRecords(
            deps.redis, self.settings.redis_prefix, self.settings.record_ttl_seconds
        )
        self.stats = ReviewStats(deps.redis)
        self.reviewer = SegmentReviewer(
            deps.model,
            cache=deps.cache,
            progress=progress,
            concurrency=self.settings.model_concurrency,
        )

    def run(
        self,
        job: ReviewJob,
        *,
        dry_run: bool = False,
        may_retry: bool = False,
        retried: bool = False,
    ) -> ReviewOutcome:
        """Review ``job``; with ``dry_run`` nothing is written to GitHub or to the records.

        ``retried``: an earlier attempt of this job ran; one that was stopped may have left
        its check run open after posting, and this attempt looks for it on GitHub.

        ``may_retry``: the caller will run the job again later, so segments that failed
        for a transient reason end this attempt (``SegmentsPending``) instead of being
        posted as not reviewed.
        """
        laps = Laps()
        self.progress.stage("reading")
        # An event for a head this bot already reviewed needs nothing from GitHub.
        if job.trigger != "command" and self.records.was_reviewed(job, job.head_sha):
            if not dry_run:
                self._close_left_check_run(job, job.head_sha, None, look=retried)
            return ReviewOutcome("duplicate", f"{job.head_sha} was already reviewed", job.head_sha)
        gh = self.deps.github(job.installation_id, job.repository)
        # The first request also mints the installation token: alone, so that an
        # unreachable GitHub is waited for once, not once per thread.
        pull = gh.get_pull(job.pr_number)
        # A command reviews whatever the head is now; an event only the head it names.
        if job.trigger != "command" and pull.head_sha != job.head_sha:
            log.info("stale review job", pr_head=pull.head_sha[:12])
            return ReviewOutcome("stale", f"the PR head moved to {pull.head_sha}", job.head_sha)
        # The PR's reviews and files are read while the configuration is: a PR skipped
        # by its configuration wastes two reads, every other job saves a round trip.
        # Another asks whether the author may write (the outsider policy); the last opens
        # the check run once the configuration allows a review.
        early = ThreadPoolExecutor(max_workers=4, thread_name_prefix="review-read")
        try:
            reviews = early.submit(gh.list_reviews, pull.number)
            files = early.submit(gh.list_pull_files, pull.number)
            return self._admit(
                job, gh, pull, early, reviews, files, laps, dry_run=dry_run, may_retry=may_retry
            )
        finally:
            early.shutdown(wait=False, cancel_futures=True)

    def _admit(
        self,
        job: ReviewJob,
        gh: GitHubClient,
        pull: PullRequest,
        early: ThreadPoolExecutor,
        reviews: Future[tuple[Review, ...]],
        files: Future[tuple[PullFile, ...]],
        laps: Laps,
        *,
        dry_run: bool,
        may_retry: bool,
    ) -> ReviewOutcome:
        """Steps 2 to 4: the configuration, the budget, the check run; then the review."""
        head = pull.head_sha
        # Whether the author may write is asked while the configuration is read.
        policy = self.settings.outsiders
        outsider = None
        if job.trigger != "command" and policy.mode != "review":
            outsider = early.submit(outsiders.is_outsider, gh, pull)
        bot_login = self.settings.bot_login or gh.app_identity().bot_login
        branch = inputs.trusted_branch(gh, pull)
        listing = trusted.read_listing(gh, branch)
        config = trusted.read_config(gh, branch, listing)
        if isinstance(config, RepoConfig):
            config = _refuse_unusable_model(config, self.deps.model.config, self.deps.clock())
        if isinstance(config, ConfigErrors):
            if not dry_run:
                inputs.report_config_errors(gh, self.records, job, config)
            return ReviewOutcome("skipped", "invalid " + CONFIG_PATH, head)
        skip = skip_reason(
            state=pull.state,
            draft=pull.draft,
            author_login=pull.author_login,
            author_type=pull.author_type,
            config=config,
            requested=job.trigger == "command",
        )
        if skip is not None:
            log.info("review skipped", reason=skip.message)
            return ReviewOutcome("skipped", skip.message, head)
        now = self.deps.clock()
        limit = config.monthly_budget_usd
        spent_out = budget.over_budget(self.deps.model.ledger, job.repository, limit, now)
        if spent_out is not None:
            if not dry_run:
                budget.report_budget(gh, self.records, job, spent_out, now)
            return ReviewOutcome("budget_exceeded", spent_out, head)
        if job.trigger != "command" and self.records.was_reviewed(job, head):
            if not dry_run:
                self._close_left_check_run(job, head, gh)
            return ReviewOutcome("duplicate", f"{head} was already reviewed", head)
        check = ReviewCheckRun(gh, self.records, job, head, self.settings.check_run_name)
        if outsider is not None and outsider.result():
            held = outsiders.admit(
                self.records, job, pull.author_login, policy, now, record=not dry_run
            )
            if held is not None:
                log.info("outsider review held", reason=held.summary)
                if not dry_run:
                    check.open_now()
                    check.finish_neutral(held.title, held.summary)
                return ReviewOutcome("skipped", held.summary, head)
        if not dry_run:
            check.open_in(early)
        run = _Run(job, gh, pull, config, bot_login, branch, listing, check, dry_run, may_retry)
        # A failure leaves the check run in progress: the next attempt reuses it, and a
        # job that gives up completes it with the cause (the task does).
        outcome = self._review(run, reviews.result(), files.result(), laps)
        return replace(outcome, check_run_id=check.id(), timings=laps.items())

    def _review(
        self, run: _Run, reviews: tuple[Review, ...], files: tuple[PullFile, ...], laps: Laps
    ) -> ReviewOutcome:
        """Steps 5 to 11."""
        laps.lap("read")
        job, gh, pull, config, head = run.job, run.gh, run.pull, run.config, run.head
        prior = PriorReviews.collect(
            bot_login=run.bot_login, reviews=[(r.author_login, r.body) for r in reviews]
        )
        if run.automatic and head in prior.reviewed_heads:
            run.check.finish_neutral(ALREADY_REVIEWED, already_reviewed_text(head))
            return self._nothing_new(run, f"{head} was already reviewed")

        pr_diffs = tuple(inputs.file_diff(f) for f in files)
        if run.automatic:
            scope, diffs = inputs.choose_scope(
                gh,
                head=head,
                last_reviewed=self.records.last_reviewed(job) or prior.last_reviewed_sha,
                incremental=config.incremental,
                pr_diffs=pr_diffs,
            )
        else:
            # A person asked for a review: the whole PR, repeats still filtered out.
            scope, diffs = ReviewScope("full", "requested with `/codex review`"), pr_diffs
        if scope.kind == "up_to_date" and run.automatic:
            run.check.finish_neutral("Nothing new to review", scope.reason)
            return self._nothing_new(run, scope.reason)

        self.progress.stage("planning")
        work = plan_work(
            self.settings,
            run.gh,
            run.job,
            run.pull,
            run.config,
            Trusted(run.default_branch, run.listing),
            diffs,
            pr_diffs,
            self.deps.mirror,
        )
        if not run.dry_run:
            record_applied(self.stats, job, head, work.contents)
        laps.lap("plan")

        self.progress.stage("reviewing")
        results = self.reviewer.review(work)
        if work.tools is not None:
            work.tools.close()  # the mirror may be evicted again
        laps.lap("review")
        pending = sum(leaf.transient for result in results for leaf in result.leaves)
        if pending and run.may_retry and not run.dry_run:
            raise SegmentsPending(pending)

        # The head is read again while the findings are placed and rendered.
        with ThreadPoolExecutor(max_workers=1) as side:
            reread = None if run.dry_run else side.submit(gh.get_pull, pull.number)
            reread_at = time.monotonic()
            leaves = [leaf for result in results for leaf in result.leaves]
            findings = [finding for result in results for finding in result.findings]
            anchors = anchor_findings(findings, pr_diffs, work.contents)
            usage = sum((r.usage for r in results), Usage())
            cost = sum((r.cost_usd for r in results), Decimal(0))
            summary = summarize_run(
                head_sha=head,
                base_sha=pull.base_sha,
                scope=scope,
                plan=work.plan,
                results=results,
                model=models_used(results) or self.deps.model.config.model,
                usage=usage,
                cost_usd=cost,
            )
            host = link_host(
                pull_page(
                    pull.html_url,
                    repository=job.repository,
                    number=pull.number,
                    web_url=self.settings.web_url,
                )
            )
            known_fps = prior.fingerprints | self.records.fingerprints(job)
            decided, draft = compose_review(
                summary,
                anchors,
                config,
                known_fps,
                host,
                min_confidence=self.settings.min_confidence,
            )
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
            context=tuple(work.related.values()),
        )
        if run.dry_run:
            return base

        self.progress.stage("posting")
        with self.records.post_lock(job, self.settings.post_lock_seconds):
            if time.monotonic() - reread_at > _REREAD_SECONDS:
                # The lock was held by another job for a while: the head read is old.
                current_head = gh.get_pull(pull.number).head_sha
            if current_head != head:
                run.check.finish_neutral(
                    "Superseded",
                    f"The pull request moved to `{str(current_head)[:12]}` during the "
                    f"review of `{head[:12]}`; nothing was posted for the old commit.",
                )
                return replace(base, status="superseded", reason="the PR head moved")
            if run.automatic and self.records.was_reviewed(job, head):
                run.check.finish_neutral(ALREADY_REVIEWED, already_reviewed_text(head))
                return replace(base, status="duplicate", reason=f"{head} was already reviewed")
            # Another run for this PR (a `/codex review` racing the automatic one) may
            # have posted some of these findings since they were decided.
            posted_since = self.records.fingerprints(job) - known_fps
            if posted_since & set(decided.posted_fingerprints):
                decided, draft = compose_review(
                    summary,
                    anchors,
                    config,
                    known_fps | posted_since,
                    host,
                    min_confidence=self.settings.min_confidence,
                )
                base = replace(
                    base, draft=draft, inline=len(decided.inline), in_body=len(decided.listed)
                )
            quiet = not decided.inline and not decided.listed and not summary.not_reviewed
            review_id: int | None = None
            # A push with nothing new says so in the check run only: no review noise.
            if not (quiet and job.trigger == "synchronize"):
                review_id = gh.create_review(pull.number, head, draft.body, draft.comments).id
                record_posted(self.stats, job, head, decided, self.deps.clock())
            self.records.reviewed(job, head, decided.posted_fingerprints)
        laps.lap("post")
        conclusion = check_conclusion(
            reviewed_segments=sum(r.reviewed for r in leaves),
            p0_found=decided.p0_found,
            gate_on_p0=config.gate_on_p0,
        )
        output = render_check_output(summary, decided, conclusion=conclusion, allowed_host=host)
        summary_text = "\n\n".join((output.summary, *work.notes))
        run.check.finish(conclusion, output.title, summary_text, output.text)
        laps.lap("check")
        status: OutcomeStatus = "posted" if review_id is not None else "quiet"
        reason = "review posted" if review_id is not None else "nothing new to post"
        return replace(base, status=status, reason=reason, review_id=review_id)

    def _close_left_check_run(
        self, job: ReviewJob, head: str, gh: GitHubClient | None, *, look: bool = False
    ) -> None:
        """Complete a check run an earlier attempt left open at a head already reviewed
        (``checkrun.complete_left_open``); ``look``: search GitHub too, for a retry."""
        if self.records.check_run(job, head) is None and not look:
            return  # the common case (a duplicate delivery) costs no GitHub call
        client = gh or self.deps.github(job.installation_id, job.repository)
        complete_left_open(client, self.records, job, head, self.settings.check_run_name, look=look)

    def _nothing_new(self, run: _Run, reason: str) -> ReviewOutcome:
        """This head needs no review: record it as reviewed (unless a dry run)."""
        if not run.dry_run:
            self.records.reviewed(run.job, run.head, ())
        return ReviewOutcome("duplicate", reason, run.head)
