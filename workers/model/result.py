"""What one structured model call returns, and the prompt it takes.

``StructuredResult`` is frozen: status, value, every attempt's usage and cost,
request ids, and whether a failure is worth another attempt later
(``transient``). ``Tally`` accumulates one call's attempts and becomes the
result at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, Literal, Protocol, TypeVar

from workers.model.wire import Usage

T = TypeVar("T")
ResultStatus = Literal["ok", "failed", "budget_exceeded", "incomplete"]


class ModelPrompt(Protocol):
    """Anything with these attributes can be sent (the diff engine's ``Prompt`` does)."""

    @property
    def instructions(self) -> str: ...

    @property
    def input(self) -> str: ...

    @property
    def cache_key(self) -> str: ...

    @property
    def input_tokens(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StructuredResult(Generic[T]):
    """Outcome of one structured call, including every attempt's usage and cost."""

    status: ResultStatus
    value: T | None
    error: str | None
    model: str
    usage: Usage
    cost_usd: Decimal
    request_ids: tuple[str, ...]
    attempts: int
    retries: int
    waited_seconds: float
    output_failed: bool = False
    """True when the endpoint answered but the answer was unusable (escalation may help)."""
    transient: bool = False
    """True when the call failed for a reason another attempt later may not meet."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(slots=True)
class Tally:
    """Mutable per-call accumulator; becomes part of a frozen result at the end."""

    model: str
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    request_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    retries: int = 0
    waited: float = 0.0

    def result(
        self,
        status: ResultStatus,
        value: T | None,
        error: str | None,
        *,
        output_failed: bool = False,
        transient: bool = False,
    ) -> StructuredResult[T]:
        return StructuredResult(
            status=status,
            value=value,
            error=error,
            model=self.model,
            usage=self.usage,
            cost_usd=self.cost,
            request_ids=tuple(self.request_ids),
            attempts=self.attempts,
            retries=self.retries,
            waited_seconds=self.waited,
            output_failed=output_failed,
            transient=transient,
        )
