"""The review flow's two calls into the stats records, each one line at its call site.

The records are for reporting only: a Redis error here is logged and the review
goes on (the review's own bookkeeping, ``workers.review.records``, is what
must not fail silently).
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.diff.anchor import AnchoredFinding
from workers.review.select import Plan
from workers.stats.records import PostedFinding, ReviewStats

log = get_logger("workers.stats")


def posted_findings(decided: Plan[AnchoredFinding]) -> list[PostedFinding]:
    """The findings a review posts, inline (with their suggestion) and in its body."""
    found = [
        PostedFinding(
            fingerprint=item.fingerprint,
            priority=item.anchored.finding.priority,
            inline=True,
            path=item.anchored.path,
            start_line=item.anchored.start_line or item.anchored.line,
            suggestion=item.anchored.suggestion,
        )
        for item in decided.inline
    ]
    found += [
        PostedFinding(x.fingerprint, x.finding.priority, False, x.path, x.line)
        for x in decided.listed
    ]
    return found


def record_posted(
    stats: ReviewStats, job: ReviewJob, head: str, decided: Plan[AnchoredFinding], at: float
) -> None:
    try:
        stats.posted(job.repository, job.pr_number, head, posted_findings(decided), at)
    except redis.RedisError as exc:
        log.warning("review stats not recorded", error=str(exc))


def record_applied(
    stats: ReviewStats, job: ReviewJob, head: str, contents: Mapping[str, str]
) -> None:
    try:
        found = stats.check_applied(job.repository, job.pr_number, head, contents)
    except redis.RedisError as exc:
        log.warning("applied suggestions not checked", error=str(exc))
        return
    if found:
        log.info("suggestions applied by the author", count=found)
