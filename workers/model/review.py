"""Reviewing one segment: the findings contract, validation and escalation.

The model's JSON is untrusted: ``parse_findings`` validates it strictly
(priorities 0-3, confidence 0-1, non-empty titles, ``line_end >= line_start``,
bounded sizes; a title or body over its cap is cut, as the strict schema cannot
state string lengths) before any ``Finding`` exists. The numeric limits are the ones
``FINDINGS_SCHEMA`` sends (``minimum``, ``maximum``, ``maxItems``, from the same
constants); an answer with more than ``MAX_FINDINGS`` findings keeps the most
important ones (by priority, then confidence) instead of being rejected, and
says how many it dropped. ``review_segment`` is the only place that
decides escalation: a segment the mini model marks ``needs_deeper_analysis``
or fails on is retried on the escalation model when one is configured and the
budget allows; both calls are recorded. Endpoint failures (429 storms,
outages) are not escalated, and neither is a review whose model or reasoning
effort the repository chose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from codex_common.logs import get_logger
from workers.findings import FINDING_SCHEMA, FINDINGS_SCHEMA, MAX_FINDINGS, PRIORITIES, Finding
from workers.model.client import ModelClient
from workers.model.config import ReasoningEffort
from workers.model.ledger import CallContext
from workers.model.result import ModelPrompt, ResultStatus, StructuredResult
from workers.model.tools import ToolHost
from workers.model.wire import Usage

log = get_logger("workers.model")

_PROPS = FINDING_SCHEMA["properties"]
_FIRST_LINE: int = _PROPS["line_start"]["minimum"]
_CONFIDENCE: tuple[float, float] = (
    _PROPS["confidence"]["minimum"],
    _PROPS["confidence"]["maximum"],
)


TITLE_CHARS = 200
BODY_CHARS = 8_000


def _cut(limit: int) -> Callable[[Any], Any]:
    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return cut


class _FindingOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    path: str = Field(min_length=1, max_length=1000)
    line_start: int = Field(ge=_FIRST_LINE)
    line_end: int = Field(ge=_FIRST_LINE)
    quote: str = Field(max_length=20_000)
    priority: int = Field(ge=min(PRIORITIES), le=max(PRIORITIES))
    # Strict schemas cannot carry string lengths, so prose over its cap is cut, not
    # refused: one wordy finding must not cost the segment its answer.
    title: Annotated[str, BeforeValidator(_cut(TITLE_CHARS))] = Field(min_length=1, pattern=r"\S")
    body: Annotated[str, BeforeValidator(_cut(BODY_CHARS))]
    suggestion: str | None = Field(max_length=20_000)
    confidence: float = Field(ge=_CONFIDENCE[0], le=_CONFIDENCE[1])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.line_end < self.line_start:
            raise ValueError("line_end is before line_start")
        return self


class _FindingsOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Not capped here: an answer over the schema's maxItems is cut by ``parse_findings``.
    findings: list[_FindingOut]
    needs_deeper_analysis: bool


@dataclass(frozen=True, slots=True)
class ReviewOutput:
    """A parsed answer. ``dropped`` counts findings left out beyond ``MAX_FINDINGS``."""

    findings: tuple[Finding, ...]
    needs_deeper: bool
    dropped: int = 0


def parse_findings(data: Any) -> ReviewOutput:
    """Validate decoded model output; raises ``pydantic.ValidationError`` (a ``ValueError``).

    Over ``MAX_FINDINGS`` findings, the most important are kept (lowest priority
    number, then highest confidence, then the model's order) and the rest are
    counted in ``dropped`` and logged.
    """
    parsed = _FindingsOut.model_validate(data)
    findings = [Finding.from_dict(item.model_dump()) for item in parsed.findings]
    dropped = max(0, len(findings) - MAX_FINDINGS)
    if dropped:
        ranked = sorted(enumerate(findings), key=lambda p: (p[1].priority, -p[1].confidence, p[0]))
        keep = sorted(index for index, _ in ranked[:MAX_FINDINGS])
        findings = [findings[index] for index in keep]
        log.warning(
            "model answer over the findings limit: kept the most important",
            limit=MAX_FINDINGS,
            dropped=dropped,
        )
    return ReviewOutput(
        findings=tuple(findings),
        needs_deeper=parsed.needs_deeper_analysis,
        dropped=dropped,
    )


@dataclass(frozen=True, slots=True)
class SegmentReview:
    """What the pipeline needs about one segment. ``status != "ok"`` means not reviewed."""

    findings: tuple[Finding, ...]
    needs_deeper: bool
    status: ResultStatus
    error: str | None
    usage: Usage
    cost_usd: Decimal
    model: str
    request_ids: tuple[str, ...]
    escalated: bool
    retries: int = 0
    waited_seconds: float = 0.0
    # Not reviewed for a reason a later attempt of the job may not meet (outage, 429s).
    transient: bool = False

    @classmethod
    def from_results(
        cls, final: StructuredResult[ReviewOutput], *earlier: StructuredResult[ReviewOutput]
    ) -> Self:
        everything = (*earlier, final)
        usage = Usage()
        for result in everything:
            usage = usage + result.usage
        value = final.value
        return cls(
            findings=value.findings if value else (),
            needs_deeper=value.needs_deeper if value else False,
            status=final.status,
            error=final.error,
            usage=usage,
            cost_usd=sum((r.cost_usd for r in everything), Decimal(0)),
            model=final.model,
            request_ids=tuple(rid for r in everything for rid in r.request_ids),
            escalated=bool(earlier) and final.model != earlier[0].model,
            retries=sum(r.retries for r in everything),
            waited_seconds=sum(r.waited_seconds for r in everything),
            transient=final.status == "failed" and final.transient,
        )


def review_segment(
    client: ModelClient,
    prompt: ModelPrompt,
    call: CallContext,
    tools: ToolHost | None = None,
    *,
    model: str | None = None,
    reasoning_effort: ReasoningEffort | None = None,
) -> SegmentReview:
    """The findings for ``prompt``; ``status != "ok"`` means the segment was not reviewed.

    ``model`` and ``reasoning_effort`` are a repository's own choice (either
    one pins the call): one call, never escalated to another model.
    """
    first = client.structured(
        prompt,
        call,
        "review_findings",
        FINDINGS_SCHEMA,
        parse=parse_findings,
        tools=tools,
        model=model,
        reasoning_effort=reasoning_effort,
    )
    if model is not None or reasoning_effort is not None:
        return SegmentReview.from_results(first)
    escalation = client.config.escalation_model
    # Escalate when the mini model asks for it or answered unusably; not when the endpoint
    # failed (429s, outages): a pricier model would not fix those and would spend more.
    wants_more = first.output_failed or (first.value is not None and first.value.needs_deeper)
    if escalation is None or escalation == first.model or not wants_more:
        return SegmentReview.from_results(first)
    second = client.structured(
        prompt,
        call,
        "review_findings",
        FINDINGS_SCHEMA,
        parse=parse_findings,
        tools=tools,
        model=escalation,
        reasoning_effort=client.config.escalation_reasoning_effort,
    )
    if second.status == "ok" or first.status != "ok":
        return SegmentReview.from_results(second, first)
    # The escalation failed or was refused by the budget: keep the first pass's findings,
    # and say why (a missing escalation model must not pass unnoticed).
    log.error("escalation failed; first-pass findings kept", model=escalation, error=second.error)
    merged = SegmentReview.from_results(first, second)
    return SegmentReview(
        findings=merged.findings,
        needs_deeper=merged.needs_deeper,
        status="ok",
        error=f"escalation to {escalation} did not help: {second.error}",
        usage=merged.usage,
        cost_usd=merged.cost_usd,
        model=first.model,
        request_ids=merged.request_ids,
        escalated=False,
        retries=merged.retries,
        waited_seconds=merged.waited_seconds,
    )
