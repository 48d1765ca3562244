"""``codex-bot stats``'s figures: the stats records beside the model ledger, per repository
and month. Pure once read: ``collect`` reads, ``rows_to_dict`` and ``render_table`` shape.

Threads resolved are not counted: GitHub's REST API does not say whether a review
thread is resolved (only its GraphQL API does), and the bot talks REST only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.table import Table

from workers.model.ledger import BudgetLedger
from workers.stats.records import COUNTERS, PRIORITIES, ReviewStats


@dataclass(slots=True)
class Row:
    repository: str
    month: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    calls: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal = Decimal(0)


def collect(
    stats: ReviewStats,
    ledger: BudgetLedger,
    *,
    repository: str | None = None,
    since_month: str | None = None,
) -> list[Row]:
    """One row per repository and month (``YYYY-MM`` at or after ``since_month``)."""
    rows: dict[tuple[str, str], Row] = {}

    def row(repo: str, month: str) -> Row:
        return rows.setdefault((repo, month), Row(repo, month))

    repos = [repository] if repository else stats.repositories()
    for repo in repos:
        for counted in stats.months(repo):
            row(repo, counted.month).counts.update(counted.counts)
    for repo, month, totals in ledger.monthly_totals():
        if repository and repo != repository:
            continue
        item = row(repo, month)
        item.calls = totals.calls
        item.input_tokens = totals.usage.input_tokens
        item.cached_tokens = totals.usage.cached_tokens
        item.output_tokens = totals.usage.output_tokens
        item.reasoning_tokens = totals.usage.reasoning_tokens
        item.cost_usd = totals.cost_usd
    return [r for key, r in sorted(rows.items()) if not since_month or key[1] >= since_month]


def rows_to_dict(rows: Iterable[Row]) -> dict[str, Any]:
    """The JSON of ``--format json``: rows, and totals over them."""
    items: list[dict[str, Any]] = [
        {
            "repository": r.repository,
            "month": r.month,
            "reviews": r.counts["reviews"],
            "findings": {p.upper(): r.counts[p] for p in PRIORITIES},
            "inline": r.counts["inline"],
            "suggestions": r.counts["suggestions"],
            "suggestions_applied": r.counts["applied"],
            "model_calls": r.calls,
            "tokens": {
                "input": r.input_tokens,
                "cached": r.cached_tokens,
                "output": r.output_tokens,
                "reasoning": r.reasoning_tokens,
            },
            "cost_usd": str(r.cost_usd),
        }
        for r in rows
    ]
    total_cost = sum((Decimal(i["cost_usd"]) for i in items), Decimal(0))
    return {
        "rows": items,
        "totals": {
            "reviews": sum(i["reviews"] for i in items),
            "findings": {
                p.upper(): sum(i["findings"][p.upper()] for i in items) for p in PRIORITIES
            },
            "suggestions": sum(i["suggestions"] for i in items),
            "suggestions_applied": sum(i["suggestions_applied"] for i in items),
            "input_tokens": sum(i["tokens"]["input"] for i in items),
            "output_tokens": sum(i["tokens"]["output"] for i in items),
            "cost_usd": str(total_cost),
        },
    }


def render_table(rows: Iterable[Row]) -> Table:
    table = Table(title="codex-review-bot: reviews and spend per repository and month")
    for name in ("repository", "month", "reviews", "P0", "P1", "P2", "P3"):
        table.add_column(name, justify="left" if name in ("repository", "month") else "right")
    for name in ("suggestions", "applied", "calls", "input tok", "output tok", "USD"):
        table.add_column(name, justify="right")
    for r in rows:
        c = r.counts
        table.add_row(
            r.repository,
            r.month,
            str(c["reviews"]),
            *(str(c[p]) for p in PRIORITIES),
            str(c["suggestions"]),
            str(c["applied"]),
            str(r.calls),
            f"{r.input_tokens:,}",
            f"{r.output_tokens:,}",
            f"{r.cost_usd:.4f}",
        )
    return table
