"""The values around a review run: what it is given (``ReviewDeps``,
``PipelineSettings``) and what it produces (one segment's answer, the draft
review, the outcome).

Frozen records only; the flow (``flow.py``) and the segment reviewer
(``segments.py``) build the results, the task, the CLI and the tests read them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import redis

from workers.config import WorkerSettings
from workers.context.items import SegmentContext
from workers.context.related import DEFAULT_CONTEXT_TOKENS
from workers.diff import Segment
from workers.diff.plans import DEFAULT_SEGMENT_TOKENS, DEFAULT_TOTAL_TOKENS
from workers.errors import Transient
from workers.findings import Finding
from workers.github.client import GitHubClient
from workers.github.models import DraftComment
from workers.mirror import RepoMirrors
from workers.model.client import ModelClient
from workers.model.wire import Usage
from workers.review.cache import SegmentCache
from workers.review.outsiders import OutsiderPolicy
from workers.review.progress import SegmentStatus
from workers.review.select import DEFAULT_MIN_CONFIDENCE
from workers.review.split import Coverage

CHECK_RUN_NAME = "Codex review"
# Threads of a review reading GitHub beside the head contents: the PR's reviews and files,
# the check run, the guidelines.
EARLY_READERS = 4
# Threads one review may hold for model calls, whatever the keys allow.
MAX_MODEL_THREADS = 64


class SegmentsPending(Transient, Exception):
    """Segments the model failed on for a transient reason: the job is to run again.

    The segments that were answered are in the content cache by then, so the
    next attempt asks the model only for these.
    """

    def __init__(self, segments: int) -> None:
        super().__init__(f"{segments} segment(s) failed for a transient reason")
        self.segments = segments


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
    # Findings below this confidence go in the review body, not inline (MIN_CONFIDENCE).
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    record_ttl_seconds: int = 90 * 24 * 3600
    post_lock_seconds: int = 120
    redis_prefix: str = "codex:review"
    # GITHUB_WEB_URL; None: links follow the pages GitHub's API names (the PR's html_url).
    web_url: str | None = None
    # Whose earlier reviews count as the bot's. None: the App's ``<slug>[bot]``; a
    # personal token (``codex-bot review`` with GITHUB_TOKEN) names its user here.
    bot_login: str | None = None
    outsiders: OutsiderPolicy = field(default_factory=OutsiderPolicy)
    # Tokens of related code per segment (``workers.context``); needs the mirror.
    context_tokens: int = DEFAULT_CONTEXT_TOKENS

    @property
    def github_threads(self) -> int:
        """The most threads of one review that use its GitHub client at once: the early
        readers, the head contents and the guidelines (each up to ``fetch_concurrency``)
        read side by side, or the segment reviews (their tools read files)."""
        return max(self.model_concurrency, 2 * self.fetch_concurrency + EARLY_READERS)


def pipeline_settings(settings: WorkerSettings) -> PipelineSettings:
    """The review flow's knobs from a worker's settings.

    One review sends as many model calls at once as the configured keys allow
    (keys times ``OPENAI_MAX_CONCURRENCY_PER_KEY``, at most ``MAX_MODEL_THREADS``):
    more threads would only wait in the shared limiter, fewer would leave allowed
    capacity unused.
    """
    capacity = len(settings.openai_api_key) * settings.openai_max_concurrency_per_key
    return PipelineSettings(
        web_url=settings.github_web_url,
        model_concurrency=max(1, min(MAX_MODEL_THREADS, capacity)),
        min_confidence=settings.min_confidence,
        context_tokens=settings.context_tokens,
        outsiders=OutsiderPolicy(
            mode=settings.outsider_reviews,
            per_pr_per_day=settings.outsider_reviews_per_pr_per_day,
            per_author_per_day=settings.outsider_reviews_per_author_per_day,
        ),
    )


@dataclass(frozen=True, slots=True)
class ReviewDeps:
    """Everything the flow touches. ``github(installation_id, repository)`` gives a client;
    ``mirror``, when set, gives the head's contents, related code and whole-repository
    search (``workers.mirror``)."""

    github: Callable[[int, str], GitHubClient]
    model: ModelClient
    redis: redis.Redis[bytes]
    settings: PipelineSettings = PipelineSettings()
    clock: Callable[[], float] = time.time
    cache: SegmentCache | None = None
    mirror: RepoMirrors | None = None


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
    # Failed for a reason a later attempt of the job may not meet (outage, 429s).
    transient: bool = False

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
    # Related code each segment's prompt showed (``workers.context``), for the dry run.
    context: tuple[SegmentContext, ...] = ()
