"""Price table and cost of one call.

Prices are USD per million tokens. ``output_tokens`` in the Responses usage
already includes reasoning tokens, so reasoning is billed as output without
being added twice. Costs are ``Decimal`` so sums over a month do not drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Self

from workers.model.wire import Usage

_MILLION: Final = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        def money(name: str) -> Decimal:
            value = Decimal(str(data[name]))
            if value < 0:
                raise ValueError(f"price {name} must not be negative")
            return value

        return cls(input=money("input"), cached_input=money("cached_input"), output=money("output"))


@dataclass(frozen=True, slots=True)
class PriceTable:
    prices: Mapping[str, Price]

    @classmethod
    def default(cls) -> Self:
        mini = Price(Decimal("0.25"), Decimal("0.025"), Decimal("2.00"))
        full = Price(Decimal("1.25"), Decimal("0.125"), Decimal("10.00"))
        return cls(
            {"gpt-5-codex-mini": mini, "gpt-5-mini": mini, "gpt-5-codex": full, "gpt-5": full}
        )

    @classmethod
    def from_json(cls, text: str, *, base: PriceTable | None = None) -> Self:
        """Parse ``{"model": {"input": .., "cached_input": .., "output": ..}}`` over ``base``."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the price table must be a JSON object keyed by model")
        prices = dict(base.prices) if base is not None else {}
        for model, entry in data.items():
            if not isinstance(entry, dict):
                raise ValueError(f"price entry for {model!r} must be an object")
            prices[str(model)] = Price.from_dict(entry)
        return cls(prices)

    def price(self, model: str) -> Price:
        """The price of ``model``; a dated snapshot (``gpt-5-2025-08-07``) takes its base price."""
        if model in self.prices:
            return self.prices[model]
        family = max(
            (name for name in self.prices if model.startswith(name + "-")), key=len, default=None
        )
        if family is None:
            raise KeyError(f"no price configured for model {model!r}")
        return self.prices[family]

    def cost(self, model: str, usage: Usage) -> Decimal:
        price = self.price(model)
        uncached = max(usage.input_tokens - usage.cached_tokens, 0)
        total = (
            uncached * price.input
            + usage.cached_tokens * price.cached_input
            + usage.output_tokens * price.output
        )
        return total / _MILLION
