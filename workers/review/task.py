"""The review task's entry points: ``review_pull_request(job, runtime)`` and, when the
job gives up, ``report_review_failure``.

The flow itself lives in ``workers.review.flow``; this wires it to the worker
process's shared clients and logs the outcome.
"""

from __future__ import annotations

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers import metrics
from workers.mirror import Mirror, RepoMirrors
from workers.review.cache import SegmentCache
from workers.review.checkrun import ReviewCheckRun
from workers.review.flow import ReviewFlow
from workers.review.outcome import ReviewDeps, ReviewOutcome, pipeline_settings
from workers.review.records import ReviewRecords
from workers.runtime import Runtime

log = get_logger("workers.review")


def review_deps(runtime: Runtime) -> ReviewDeps:
    """The review flow's dependencies, from the worker's runtime."""
    settings = runtime.settings
    mirrors = None
    if settings.mirror_max_bytes > 0:
        mirrors = RepoMirrors(
            Mirror(settings.data_dir / "mirrors", max_bytes=settings.mirror_max_bytes),
            lambda installation, repository, refresh: runtime.github.installation_token(
                installation, repository, refresh=refresh
            ),
        )
    return ReviewDeps(
        github=runtime.github.installation_client,
        model=runtime.model,
        redis=runtime.redis,
        settings=pipeline_settings(runtime.settings),
        cache=SegmentCache(runtime.redis),
        mirror=mirrors,
    )


def report_review_failure(
    job: ReviewJob, runtime: Runtime, cause: str, *, retried_minutes: int = 0
) -> bool:
    """Say on the check run of ``job``'s head why its review gave up (the run a failed
    attempt left in progress, else a new one). False when GitHub did not take it."""
    deps = review_deps(runtime)
    github = deps.github(job.installation_id, job.repository)
    records = ReviewRecords(
        runtime.redis, deps.settings.redis_prefix, deps.settings.record_ttl_seconds
    )
    check = ReviewCheckRun(github, records, job, job.head_sha, deps.settings.check_run_name)
    return check.report_failure(cause, retried_minutes=retried_minutes)


def review_pull_request(
    job: ReviewJob, runtime: Runtime, *, may_retry: bool = False, retried: bool = False
) -> ReviewOutcome:
    """Review ``job``'s pull request at its head SHA and post at most one review.

    ``may_retry``: the task will run the job again, so segments the model failed on
    for a transient reason end this attempt instead of being posted as not reviewed.
    """
    log.info(
        "review job received",
        repository=job.repository,
        pr_number=job.pr_number,
        head_sha=job.head_sha,
        trigger=job.trigger,
    )
    outcome = ReviewFlow(review_deps(runtime)).run(job, may_retry=may_retry, retried=retried)
    log.info(
        "review finished",
        status=outcome.status,
        reason=outcome.reason,
        review_id=outcome.review_id,
        inline=outcome.inline,
        in_body=outcome.in_body,
        segments=outcome.segments,
        segments_failed=outcome.segments_failed,
        cached_segments=outcome.cached_segments,
        input_tokens=outcome.usage.input_tokens,
        output_tokens=outcome.usage.output_tokens,
        cost_usd=str(outcome.cost_usd),
        timings=dict(outcome.timings),
    )
    metrics.review_ended(outcome.status)
    return outcome
