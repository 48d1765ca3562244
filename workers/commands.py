"""``/codex`` commands: ``run_command(job, runtime)``.

The command flow lives in ``workers.fix.service``; this wires it to the worker
process's shared clients. ``/codex review`` runs the review pipeline in this
same task (the review's own marker keeps it from posting twice), and bot
comments are trusted for their finding marker only because the service checks
their author first.
"""

from __future__ import annotations

from codex_common.jobs import CommandJob, ReviewJob
from codex_common.logs import get_logger
from workers import pipeline
from workers.fix.service import handle_command
from workers.fix.wiring import build_deps
from workers.review.marker import parse_comment_finding
from workers.review.pipeline import ReviewOutcome, web_host_for
from workers.review.render import help_text
from workers.runtime import Runtime

log = get_logger("workers.commands")


def review_summary(outcome: ReviewOutcome) -> str:
    """One sentence for the ``/codex review`` reply, from what the review run did."""
    short = outcome.head_sha[:7]
    found = outcome.inline + outcome.in_body
    if outcome.status == "posted" and found:
        return f"Reviewed `{short}`: {found} new finding(s) in the review above."
    if outcome.status in ("posted", "quiet", "duplicate"):
        return f"Reviewed `{short}`: nothing new to report."
    return f"No review posted for `{short}`: {outcome.reason}"


def run_command(job: CommandJob, runtime: Runtime) -> None:
    """Run the command written in ``job``'s comment and reply in its thread."""
    log.info(
        "command job received",
        repository=job.repository,
        pr_number=job.pr_number,
        command=job.command,
        comment_id=job.comment_id,
    )

    def review(review_job: ReviewJob) -> str:
        return review_summary(pipeline.run_review(review_job, runtime))

    deps = build_deps(
        job,
        app=runtime.github,
        model=runtime.model,
        redis_client=runtime.redis,
        run_review=review,
        help_text=help_text(),
        findings_of=parse_comment_finding,
        github_host=web_host_for(runtime.settings.github_api_url),
    )
    outcome = handle_command(job, deps)
    log.info("command finished", command=job.command, outcome=outcome)
