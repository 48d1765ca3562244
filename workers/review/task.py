"""The review task's entry point: ``review_pull_request(job, runtime)``.

The flow itself lives in ``workers.review.flow``; this wires it to the worker
process's shared clients and logs the outcome.
"""

from __future__ import annotations

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.github.urls import web_host_for
from workers.review.cache import SegmentCache
from workers.review.flow import ReviewFlow
from workers.review.outcome import PipelineSettings, ReviewDeps, ReviewOutcome
from workers.runtime import Runtime

log = get_logger("workers.review")


# Threads one review may hold for model calls, whatever the keys allow.
MAX_MODEL_THREADS = 64


def review_deps(runtime: Runtime) -> ReviewDeps:
    """The review flow's dependencies, from the worker's runtime.

    One review sends as many model calls at once as the configured keys allow
    (keys times ``OPENAI_MAX_CONCURRENCY_PER_KEY``): more threads would only wait
    in the shared limiter, fewer would leave allowed capacity unused.
    """
    model = runtime.model.config
    capacity = len(model.keys) * model.limiter.max_concurrency
    return ReviewDeps(
        github=runtime.github.installation_client,
        model=runtime.model,
        redis=runtime.redis,
        settings=PipelineSettings(
            web_host=web_host_for(runtime.settings.github_api_url),
            model_concurrency=max(1, min(MAX_MODEL_THREADS, capacity)),
        ),
        cache=SegmentCache(runtime.redis),
    )


def review_pull_request(job: ReviewJob, runtime: Runtime) -> ReviewOutcome:
    """Review ``job``'s pull request at its head SHA and post at most one review."""
    log.info(
        "review job received",
        repository=job.repository,
        pr_number=job.pr_number,
        head_sha=job.head_sha,
        trigger=job.trigger,
    )
    outcome = ReviewFlow(review_deps(runtime)).run(job)
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
    return outcome
