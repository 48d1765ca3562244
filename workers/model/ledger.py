"""Usage and cost records in Redis, and the per-repository monthly budget.

Keys (under the configured prefix):

* ``ledger:pr:{repo}#{n}`` hash of totals, ``...:calls`` list of call records;
* ``ledger:inst:{id}`` hash of totals per installation;
* ``ledger:repo:{repo}:{YYYY-MM}`` hash of totals per repository and month.

Cost is stored in integer nano-dollars so concurrent ``HINCRBY`` sums are exact.
Every attempt that reached the endpoint is one record, under its request id; a
streamed answer that ended early (stalled, cut) is recorded with estimated
usage and ``ended_early`` set, since the provider may bill it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal, Self

import redis

from workers import metrics
from workers.model.wire import Usage

_NANO: Final = Decimal(1_000_000_000)
_PR_TTL: Final = 90 * 24 * 3600
_MONTH_TTL: Final = 400 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who a model call is for: the ids the ledger and the request metadata carry."""

    installation_id: int
    repository: str
    pr_number: int
    head_sha: str
    delivery_id: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    model: str
    request_id: str | None
    usage: Usage
    cost_usd: Decimal
    at: float
    ended_early: bool = False
    """The stream ended before its final event: usage and cost are estimates."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "request_id": self.request_id,
            "usage": self.usage.to_dict(),
            "cost_usd": str(self.cost_usd),
            "at": self.at,
            "ended_early": self.ended_early,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            model=str(data["model"]),
            request_id=data.get("request_id"),
            usage=Usage(**{k: int(v) for k, v in data["usage"].items()}),
            cost_usd=Decimal(str(data["cost_usd"])),
            at=float(data["at"]),
            ended_early=bool(data.get("ended_early", False)),
        )


@dataclass(frozen=True, slots=True)
class Totals:
    calls: int
    usage: Usage
    cost_usd: Decimal

    @classmethod
    def from_redis(cls, raw: Mapping[bytes, bytes]) -> Self:
        def get(name: str) -> int:
            return int(raw.get(name.encode(), b"0"))

        return cls(
            calls=get("calls"),
            usage=Usage(
                get("input_tokens"),
                get("cached_tokens"),
                get("output_tokens"),
                get("reasoning_tokens"),
            ),
            cost_usd=Decimal(get("cost_nano")) / _NANO,
        )


@dataclass(frozen=True, slots=True)
class BudgetDecision:
    allowed: bool
    spent_usd: Decimal
    budget_usd: Decimal | None
    message: str | None = None

    @property
    def status(self) -> Literal["allowed", "exceeded"]:
        return "allowed" if self.allowed else "exceeded"


def month_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m")


class BudgetLedger:
    """Records every call's usage and cost and answers whether a repository may spend more."""

    def __init__(
        self, client: redis.Redis[bytes], *, prefix: str, monthly_budget_usd: Decimal | None
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:ledger"
        self._budget = monthly_budget_usd

    def _pr(self, repository: str, pr_number: int) -> str:
        return f"{self._prefix}:pr:{repository}#{pr_number}"

    def _month(self, repository: str, month: str) -> str:
        return f"{self._prefix}:repo:{repository}:{month}"

    def _installation(self, installation_id: int) -> str:
        return f"{self._prefix}:inst:{installation_id}"

    def record(self, call: CallContext, record: CallRecord) -> None:
        fields = {**record.usage.to_dict(), "calls": 1}
        nano = int((record.cost_usd * _NANO).to_integral_value())
        pipe = self._redis.pipeline(transaction=True)
        for name, ttl in (
            (self._pr(call.repository, call.pr_number), _PR_TTL),
            (self._installation(call.installation_id), None),
            (self._month(call.repository, month_of(record.at)), _MONTH_TTL),
        ):
            for field, amount in fields.items():
                pipe.hincrby(name, field, amount)
            pipe.hincrby(name, "cost_nano", nano)
            if ttl is not None:
                pipe.expire(name, ttl)
        calls = self._pr(call.repository, call.pr_number) + ":calls"
        pipe.rpush(calls, json.dumps(record.to_dict()))
        pipe.expire(calls, _PR_TTL)
        pipe.execute()
        metrics.model_call(
            record.model, call.repository, record.usage.to_dict(), float(record.cost_usd)
        )

    def spent(self, repository: str, month: str) -> Decimal:
        raw: Mapping[bytes, bytes] = self._redis.hgetall(self._month(repository, month))
        return Totals.from_redis(raw).cost_usd

    def usage_for_pr(self, repository: str, pr_number: int) -> Totals:
        raw: Mapping[bytes, bytes] = self._redis.hgetall(self._pr(repository, pr_number))
        return Totals.from_redis(raw)

    def usage_for_installation(self, installation_id: int) -> Totals:
        raw: Mapping[bytes, bytes] = self._redis.hgetall(self._installation(installation_id))
        return Totals.from_redis(raw)

    def monthly_totals(self) -> Iterator[tuple[str, str, Totals]]:
        """``(repository, YYYY-MM, totals)`` for every repository and month on record."""
        start = len(self._prefix) + len(":repo:")
        for raw_key in self._redis.scan_iter(match=f"{self._prefix}:repo:*", count=500):
            repository, _, month = raw_key.decode()[start:].rpartition(":")
            totals: Mapping[bytes, bytes] = self._redis.hgetall(raw_key)
            yield repository, month, Totals.from_redis(totals)

    def calls_for_pr(self, repository: str, pr_number: int) -> tuple[CallRecord, ...]:
        raw: list[bytes] = self._redis.lrange(self._pr(repository, pr_number) + ":calls", 0, -1)
        return tuple(CallRecord.from_dict(json.loads(item)) for item in raw)

    def check(self, repository: str, now: float) -> BudgetDecision:
        month = month_of(now)
        spent = self.spent(repository, month)
        if self._budget is None or spent < self._budget:
            return BudgetDecision(True, spent, self._budget)
        return BudgetDecision(
            False,
            spent,
            self._budget,
            f"The monthly model budget of ${self._budget} for {repository} is used up "
            f"(${spent.quantize(Decimal('0.01'))} spent in {month}); no further reviews "
            "run this month unless a maintainer raises the budget.",
        )
