"""Reviewing a plan's segments with the model: the one segment reviewer.

The worker's flow and ``codex-bot review-diff`` both use ``SegmentReviewer``.
For every segment, on its own thread (the first calls start while the other
prompts are still being rendered): render the prompt with the guideline
sections that apply to its files, look the answer up in the content cache,
else ask the model (``workers.model.review.review_segment``, which alone
decides escalation) and cache a usable answer. A segment whose answer is cut
off at the output limit (``incomplete``) is split in two and the halves
reviewed once each; what still does not fit stays not reviewed, with a reason.
Model failures never raise: they are results with a status and an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from codex_common.logs import get_logger
from workers.context.items import SegmentContext
from workers.diff import FileDiff, PlanOptions, ReviewPlan, Segment, anchor_findings
from workers.diff.anchor import AnchoredFinding, Unanchored
from workers.model.client import ModelClient
from workers.model.config import ReasoningEffort
from workers.model.ledger import CallContext
from workers.model.review import SegmentReview, review_segment
from workers.model.tools import tool_notes
from workers.model.wire import Usage
from workers.prompts.names import is_plain, restore_path
from workers.prompts.render import PullContext, ToolNote, render_prompt
from workers.review.cache import CachedSegment, SegmentCache, cache_key
from workers.review.config import CONFIG_PATH
from workers.review.guidelines import Guidelines
from workers.review.outcome import SegmentResult
from workers.review.progress import NO_PROGRESS, Progress
from workers.review.split import Coverage, coverage, split_segment
from workers.review.threads import map_in_threads
from workers.review.toolhost import HeadToolHost

log = get_logger("workers.review")

UNSPLITTABLE = "the answer was cut off and the segment cannot be split"
CUT_OFF_AGAIN = "still cut off after the segment was split in two"


@dataclass(frozen=True, slots=True)
class SegmentWork:
    """What reviewing one plan's segments needs, shared by their threads.

    ``model`` and ``reasoning_effort`` are the repository's own choice: either
    one pins the call and rules out escalation. ``language`` is the trusted
    comment language from the default branch's configuration. ``related`` is each
    segment's related code from the repository (``workers.context``) by segment
    index; the halves of a split segment keep their segment's.
    """

    plan: ReviewPlan
    options: PlanOptions
    contents: Mapping[str, str]
    context: PullContext
    call: CallContext
    guidelines: Guidelines | None = None
    language: str = "en"
    tools: HeadToolHost | None = None
    model: str | None = None
    reasoning_effort: ReasoningEffort | None = None
    related: Mapping[int, SegmentContext] = field(default_factory=dict)
    # Sentences for the check run about how the review was made (e.g. without the mirror).
    notes: tuple[str, ...] = ()


class SegmentReviewer:
    """Reviews segments through the cache and the model; holds no per-plan state."""

    def __init__(
        self,
        model: ModelClient,
        *,
        cache: SegmentCache | None = None,
        progress: Progress = NO_PROGRESS,
        concurrency: int = 8,
    ) -> None:
        self._model = model
        self._cache = cache
        self._progress = progress
        self._concurrency = concurrency

    def review(self, work: SegmentWork) -> list[SegmentResult]:
        """Every planned segment's result, in plan order."""
        self._progress.segments_planned(len(work.plan.segments))

        def one(segment: Segment) -> SegmentResult:
            result = self._one(work, segment)
            return result if result.status != "incomplete" else self._split(work, result)

        return map_in_threads(one, list(work.plan.segments), self._concurrency)

    def _split(self, work: SegmentWork, cut: SegmentResult) -> SegmentResult:
        """Review the two halves of a segment whose answer was cut off, once each."""
        halves = split_segment(cut.segment, work.plan.files, work.contents, work.options)
        if not halves:
            log.warning("segment cut off and cannot be split", segment=label(cut.segment))
            return replace(cut, error=UNSPLITTABLE)
        self._progress.segments_added(len(halves))
        log.info("segment cut off: reviewing it in two halves", segment=label(cut.segment))
        parts = map_in_threads(
            lambda half: self._one(work, half.segment, half.coverage), list(halves), len(halves)
        )
        return merge_halves(cut, parts)

    def _one(
        self, work: SegmentWork, segment: Segment, covers: Coverage | None = None
    ) -> SegmentResult:
        # Every segment gets the guidelines of the whole plan and the same tools, so the
        # prompts of one review share their start (OpenAI's prompt cache reuses it).
        prompt = render_prompt(
            segment,
            work.context,
            review_guidelines(work.plan, work.guidelines, work.language),
            parts=len(work.plan.segments),
            tools=() if work.tools is None else tuple(ToolNote(*n) for n in tool_notes(work.tools)),
            related=related.render() if (related := work.related.get(segment.index)) else "",
        )
        if covers is None:
            covers = coverage(segment, work.plan.files)
        config = self._model.config
        key = cache_key(
            model=work.model or config.model,
            effort=work.reasoning_effort or config.reasoning_effort,
            instructions=prompt.instructions,
            input_text=prompt.input,
        )
        hit = self._cache.get(key) if self._cache is not None else None
        if hit is not None:
            self._progress.segment_done(label(segment), "cached")
            return SegmentResult(
                segment, "cached", hit.findings, Usage(), Decimal(0), hit.model, coverage=covers
            )
        review = restore_paths(
            review_segment(
                self._model,
                prompt,
                work.call,
                work.tools,
                model=work.model,
                reasoning_effort=work.reasoning_effort,
            ),
            segment.paths,
        )
        if review.status == "ok" and self._cache is not None:
            self._cache.put(
                key, CachedSegment(review.findings, review.needs_deeper, review.model, review.usage)
            )
        self._progress.segment_done(label(segment), review.status)
        return SegmentResult(
            segment,
            review.status,
            review.findings if review.status == "ok" else (),
            review.usage,
            review.cost_usd,
            review.model,
            review.error,
            coverage=covers,
            transient=review.transient,
        )


def merge_halves(cut: SegmentResult, parts: Sequence[SegmentResult]) -> SegmentResult:
    """``cut`` (an ``incomplete`` answer) with the results of its halves as its parts.

    The findings are the halves'; usage and cost add the cut-off call's. A half
    cut off again stays unreviewed, with a reason that says so.
    """
    marked = tuple(
        replace(p, error=CUT_OFF_AGAIN) if p.status == "incomplete" else p for p in parts
    )
    return replace(
        cut,
        findings=tuple(f for p in marked for f in p.findings),
        usage=sum((p.usage for p in marked), cut.usage),
        cost_usd=sum((p.cost_usd for p in marked), cut.cost_usd),
        parts=marked,
    )


def restore_paths(review: SegmentReview, paths: Sequence[str]) -> SegmentReview:
    """``review`` with each finding's path as the file's real path: the prompt shows odd
    file names escaped (``workers.prompts.names``) and the model copies them as shown."""
    if all(is_plain(path) for path in paths):
        return review
    findings = tuple(
        replace(f, path=restore_path(f.path, paths)) if f.path not in paths else f
        for f in review.findings
    )
    return replace(review, findings=findings)


def review_guidelines(
    plan: ReviewPlan, guidelines: Guidelines | None, language: str
) -> dict[str, str]:
    """The guideline sections that apply to the files of any of the plan's segments, by
    source path: the same for every segment of the review, so their prompts share a prefix.

    The repository's comment language is a trusted instruction from the default
    branch's configuration, so it travels with the guidelines.
    """
    paths = {path for segment in plan.segments for path in segment.paths}
    sections = guidelines.sections if guidelines is not None else ()
    chosen = {g.source: g.text for g in sections if paths & set(g.paths)}
    if language.lower() not in ("en", "english"):
        chosen[CONFIG_PATH] = (
            f"Write every finding's title and body in this language: {language}. "
            "Quotes and suggestions stay exactly as the code is."
        )
    return chosen


def label(segment: Segment) -> str:
    """A short name for a segment in progress reports and logs."""
    paths = segment.paths
    more = f" +{len(paths) - 1}" if len(paths) > 1 else ""
    return f"{paths[0]}{more}" if paths else f"segment {segment.index + 1}"


def models_used(results: Sequence[SegmentResult]) -> str:
    """The models that answered, comma-separated; empty when none did."""
    return ", ".join(sorted({r.model for r in results if r.model}))


@dataclass(frozen=True, slots=True)
class LocalReview:
    """The model's review of a local diff (``codex-bot review-diff``), anchored."""

    results: tuple[SegmentResult, ...]
    anchored: tuple[AnchoredFinding, ...]
    unanchored: tuple[Unanchored, ...]
    usage: Usage
    cost_usd: Decimal
    model: str


def review_local_plan(
    model: ModelClient,
    files: Sequence[FileDiff],
    heads: Mapping[str, str],
    plan: ReviewPlan,
    *,
    options: PlanOptions | None = None,
    concurrency: int = 8,
    related: Mapping[int, SegmentContext] | None = None,
    progress: Progress = NO_PROGRESS,
) -> LocalReview:
    """Review ``plan``'s segments of a local diff with ``SegmentReviewer``: no GitHub,
    no cache, no tools, no posting.

    Without head contents (``heads``) findings are still anchored to the diff's
    lines; suggestions then need the file and are dropped.
    """
    work = SegmentWork(
        plan=plan,
        options=options or PlanOptions(),
        contents=heads,
        context=PullContext(repository="local diff"),
        call=CallContext(0, "local/diff", 0, "0" * 40, "review-diff"),
        related=related or {},
    )
    results = SegmentReviewer(model, concurrency=concurrency, progress=progress).review(work)
    anchors = anchor_findings([f for r in results for f in r.findings], files, heads)
    return LocalReview(
        results=tuple(results),
        anchored=anchors.anchored,
        unanchored=anchors.unanchored,
        usage=sum((r.usage for r in results), Usage()),
        cost_usd=sum((r.cost_usd for r in results), Decimal(0)),
        model=models_used(results) or model.config.model,
    )
