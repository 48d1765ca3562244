"""Price table and cost of one call.

Prices are USD per million tokens. ``output_tokens`` in the Responses usage
already includes reasoning tokens, so reasoning is billed as output without
being added twice. Costs are ``Decimal`` so sums over a month do not drift.

A call is billed at the service tier that served it, which the response names
in ``service_tier`` (``default``, ``flex``, ``priority``; ``auto`` was resolved
by then). A model's entry may give ``flex`` and ``priority`` prices of its own;
without them the tiers cost what OpenAI's pricing page states for its current
models: half the standard price for Flex, twice for Priority.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Self

from workers.model.wire import Usage

_MILLION: Final = Decimal(1_000_000)


_TIER_FACTORS: Final[Mapping[str, Decimal]] = {"flex": Decimal("0.5"), "priority": Decimal(2)}


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; ``tiers`` holds the ``flex`` / ``priority`` prices given."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
    tiers: Mapping[str, Price] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        def money(name: str) -> Decimal:
            value = Decimal(str(data[name]))
            if value < 0:
                raise ValueError(f"price {name} must not be negative")
            return value

        tiers: dict[str, Price] = {}
        for tier in _TIER_FACTORS:
            entry = data.get(tier)
            if entry is None:
                continue
            if not isinstance(entry, dict):
                raise ValueError(f"the {tier} price must be an object")
            tiers[tier] = Price.from_dict(entry)
        return cls(
            input=money("input"),
            cached_input=money("cached_input"),
            output=money("output"),
            tiers=tiers,
        )

    @classmethod
    def standard(cls, input: str, cached_input: str, output: str) -> Self:
        return cls(Decimal(input), Decimal(cached_input), Decimal(output))

    def for_tier(self, tier: str | None) -> Price:
        """The price at ``tier``; the standard price for ``default``, ``auto`` or none."""
        if tier is None or tier not in _TIER_FACTORS:
            return self
        if tier in self.tiers:
            return self.tiers[tier]
        factor = _TIER_FACTORS[tier]
        return Price(self.input * factor, self.cached_input * factor, self.output * factor)


@dataclass(frozen=True, slots=True)
class PriceTable:
    prices: Mapping[str, Price]
    custom: frozenset[str] = frozenset()
    """The models the operator priced (``MODEL_PRICES``), checked at start-up like the others."""

    @classmethod
    def default(cls) -> Self:
        """Standard-tier prices from OpenAI's pricing page (https://openai.com/api/pricing/)
        and the models' pages, USD per 1M tokens: input, cached input, output."""
        mini = Price.standard("0.25", "0.025", "2.00")
        gpt5 = Price.standard("1.25", "0.125", "10.00")
        gpt52 = Price.standard("1.75", "0.175", "14.00")
        return cls(
            {
                "gpt-5-codex-mini": mini,
                "gpt-5-mini": mini,
                "gpt-5.1-codex-mini": mini,
                "gpt-5": gpt5,
                "gpt-5-codex": gpt5,
                "gpt-5.1": gpt5,
                "gpt-5.1-codex": gpt5,
                "gpt-5.2": gpt52,
                "gpt-5.2-codex": gpt52,
                "gpt-5.3-codex": gpt52,
                "gpt-5.4": Price.standard("2.50", "0.25", "15.00"),
                "gpt-5.4-mini": Price.standard("0.75", "0.075", "4.50"),
                "gpt-5.4-nano": Price.standard("0.20", "0.02", "1.25"),
            }
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
        return cls(prices, frozenset(str(model) for model in data))

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

    def has(self, model: str) -> bool:
        try:
            self.price(model)
        except KeyError:
            return False
        return True

    def cost(self, model: str, usage: Usage, tier: str | None = None) -> Decimal:
        """The cost of ``usage`` on ``model`` at the service ``tier`` that served it."""
        price = self.price(model).for_tier(tier)
        uncached = max(usage.input_tokens - usage.cached_tokens, 0)
        total = (
            uncached * price.input
            + usage.cached_tokens * price.cached_input
            + usage.output_tokens * price.output
        )
        return total / _MILLION
