"""``codex-bot review-diff PATH|- --dry-run``: plan the review of a local diff, offline.

Prints the segments (files, changed lines, tokens), the skipped files with their
reasons, the totals and the estimated input cost at the configured model's price.
``--head DIR`` points at the new tree so enclosing functions can be shown.
Without ``--dry-run`` the segments are reviewed by the model
(``bot.cli.review.review_local_diff``) and the anchored findings printed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click

from workers.diff import PlanOptions, ReviewPlan, parse_git_diff, plan_review
from workers.diff.segment import DEFAULT_SEGMENT_TOKENS, DEFAULT_TOTAL_TOKENS

DEFAULT_MODEL: Final = "gpt-5-codex-mini"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    cached_input: float
    output: float


# Placeholder prices for the dry-run estimate until the model client's price table is joined.
DRY_RUN_PRICES: Final[dict[str, Price]] = {
    "gpt-5-codex-mini": Price(input=0.25, cached_input=0.025, output=2.00),
}


def estimate_cost(plan: ReviewPlan, price: Price) -> float:
    """Input cost of the diff part of the prompts (rubric and output not included)."""
    return plan.totals.prompt_tokens * price.input / 1_000_000


def plan_to_dict(plan: ReviewPlan, model: str, cost: float | None) -> dict[str, Any]:
    return {
        "segments": [
            {
                "index": s.index,
                "files": [f.path for f in s.files],
                "changed_lines": s.changed_lines,
                "tokens": s.tokens,
            }
            for s in plan.segments
        ],
        "not_reviewed": [
            {"files": list(n.segment.paths), "tokens": n.segment.tokens, "reason": n.reason}
            for n in plan.not_reviewed
        ],
        "skipped": [
            {"path": s.path, "reason": s.reason, "changed_lines": s.changed_lines}
            for s in plan.skipped
        ],
        "totals": {
            "files": plan.totals.files,
            "reviewable_files": plan.totals.reviewable_files,
            "changed_lines": plan.totals.changed_lines,
            "covered_changed_lines": plan.totals.covered_changed_lines,
            "diff_tokens": plan.totals.diff_tokens,
            "prompt_tokens": plan.totals.prompt_tokens,
        },
        "model": model,
        "estimated_cost_usd": None if cost is None else round(cost, 6),
    }


def _read_heads(root: Path, plan_paths: list[str]) -> dict[str, str]:
    contents: dict[str, str] = {}
    for path in plan_paths:
        file = root / path
        if file.is_file():
            contents[path] = file.read_bytes().decode("utf-8", errors="replace")
    return contents


def _print_text(data: dict[str, Any]) -> None:
    echo = click.echo
    for seg in data["segments"]:
        files = ", ".join(seg["files"][:4]) + (" ..." if len(seg["files"]) > 4 else "")
        echo(
            f"segment {seg['index'] + 1}: {len(seg['files'])} file(s), "
            f"{seg['changed_lines']} changed lines, {seg['tokens']} tokens: {files}"
        )
    for item in data["not_reviewed"]:
        echo(f"not reviewed: {', '.join(item['files'])}: {item['reason']}")
    for item in data["skipped"]:
        echo(f"skipped {item['path']}: {item['reason']}")
    totals = data["totals"]
    echo(" ".join(f"{key}={value}" for key, value in totals.items()))
    cost = data["estimated_cost_usd"]
    echo(
        f"estimated input cost at {data['model']}: "
        + ("unknown" if cost is None else f"${cost:.4f}")
    )


@click.command("review-diff")
@click.argument("source", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan only; no network.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--head", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--include", multiple=True, help="Glob of paths to review (gitignore syntax).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (gitignore syntax).")
@click.option("--segment-tokens", type=int, default=DEFAULT_SEGMENT_TOKENS, show_default=True)
@click.option("--total-tokens", type=int, default=DEFAULT_TOTAL_TOKENS, show_default=True)
@click.option("--model", default=DEFAULT_MODEL, show_default=True)
def review_diff(
    source: str,
    dry_run: bool,
    fmt: str,
    head: Path | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    segment_tokens: int,
    total_tokens: int,
    model: str,
) -> None:
    """Plan (with --dry-run) the review of a git diff read from SOURCE or stdin."""
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    files = parse_git_diff(raw)
    heads = _read_heads(head, [f.path for f in files]) if head is not None else {}
    options = PlanOptions(
        include=include, exclude=exclude, segment_tokens=segment_tokens, total_tokens=total_tokens
    )
    plan = plan_review(files, heads, options)
    if not dry_run:
        from bot.cli.review import review_local_diff

        review_local_diff(files, heads, plan, fmt)
        return
    price = DRY_RUN_PRICES.get(model)
    data = plan_to_dict(plan, model, None if price is None else estimate_cost(plan, price))
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _print_text(data)
