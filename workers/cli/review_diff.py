"""``codex-bot review-diff PATH|- --dry-run``: plan the review of a local diff, offline.

Prints the segments (files, changed lines, tokens), the skipped files with their
reasons, the totals and the estimated input cost at the configured model's price,
from the model client's own price table, with ``MODEL_PRICES`` read by the
worker's own parser (``workers.model.config.parse_prices``), so an estimate and
a bill use the same prices. The dry run needs no API key; the review does, and
reads the model section (``ModelSettings``) from the environment and ``.env``.
``--head DIR`` points at the new tree so enclosing functions can be shown;
``--repo DIR`` (a checkout of the head) also adds each segment's related code
(``context``: callers, definitions, tests; ``workers.context``), as the worker
finds it in its mirror.
Without ``--dry-run`` the segments are reviewed by the model
(``workers.cli.review.review_local_diff``) and the anchored findings printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from workers.context.items import SegmentContext
from workers.context.related import DEFAULT_CONTEXT_TOKENS, plan_context
from workers.diff import PlanOptions, ReviewPlan, parse_git_diff, plan_review
from workers.diff.plans import DEFAULT_SEGMENT_TOKENS, DEFAULT_TOTAL_TOKENS
from workers.mirror import DirView
from workers.model.config import DEFAULT_MODEL, parse_prices
from workers.model.pricing import PriceTable
from workers.model.wire import Usage


def price_table(overrides: str | None) -> PriceTable:
    """The model client's default prices, with ``MODEL_PRICES``-style JSON over them."""
    table = parse_prices(overrides)
    assert isinstance(table, PriceTable)
    return table


def estimate_cost(plan: ReviewPlan, model: str, prices: PriceTable) -> Decimal | None:
    """Input cost of the diff part of the prompts (rubric and output not included), priced
    as the model client bills a call; ``None`` when ``model`` has no price."""
    try:
        return prices.cost(model, Usage(input_tokens=plan.totals.prompt_tokens))
    except KeyError:
        return None


def plan_to_dict(plan: ReviewPlan, model: str, cost: Decimal | None) -> dict[str, Any]:
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
        "estimated_cost_usd": None if cost is None else round(float(cost), 6),
    }


def related_context(
    plan: ReviewPlan, heads: Mapping[str, str], repo: Path, budget: int
) -> dict[int, SegmentContext]:
    """Each segment's related code from the checkout ``repo`` of the head."""
    return plan_context(plan, plan.files, heads, DirView(repo), budget)


def add_context(data: dict[str, Any], contexts: Mapping[int, SegmentContext]) -> None:
    """The dry run's ``context`` and ``context_tokens`` per segment, and their total."""
    for seg in data["segments"]:
        found = contexts.get(seg["index"])
        seg.update(found.to_dict() if found else SegmentContext(seg["index"], ()).to_dict())
    data["totals"]["context_tokens"] = sum(c.tokens for c in contexts.values())


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
        for item in seg.get("context", ()):
            echo(
                f"  context {item['kind']}: {item['path']}:{item['start_line']}-"
                f"{item['end_line']} {item['symbol']}"
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
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A checkout of the head: adds each segment's related code (callers, definitions, "
    "tests) from the whole repository.",
)
@click.option(
    "--context-tokens",
    type=int,
    default=DEFAULT_CONTEXT_TOKENS,
    show_default=True,
    envvar="CONTEXT_TOKENS",
    help="Tokens of related code per segment (with --repo).",
)
@click.option("--include", multiple=True, help="Glob of paths to review (gitignore syntax).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (gitignore syntax).")
@click.option("--segment-tokens", type=int, default=DEFAULT_SEGMENT_TOKENS, show_default=True)
@click.option("--total-tokens", type=int, default=DEFAULT_TOTAL_TOKENS, show_default=True)
@click.option("--model", default=DEFAULT_MODEL, show_default=True, envvar="OPENAI_MODEL")
@click.option(
    "--prices",
    envvar="MODEL_PRICES",
    help='JSON price table over the defaults: {"model": {"input": .., "cached_input": .., '
    '"output": ..}} in USD per million tokens (the worker reads the same MODEL_PRICES).',
)
def review_diff(
    source: str,
    dry_run: bool,
    fmt: str,
    head: Path | None,
    repo: Path | None,
    context_tokens: int,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    segment_tokens: int,
    total_tokens: int,
    model: str,
    prices: str | None,
) -> None:
    """Plan (with --dry-run) the review of a git diff read from SOURCE or stdin."""
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    files = parse_git_diff(raw)
    tree = head or repo
    heads = _read_heads(tree, [f.path for f in files]) if tree is not None else {}
    options = PlanOptions(
        include=include, exclude=exclude, segment_tokens=segment_tokens, total_tokens=total_tokens
    )
    plan = plan_review(files, heads, options)
    contexts = related_context(plan, heads, repo, context_tokens) if repo is not None else {}
    if not dry_run:
        from workers.cli.review import review_local_diff

        review_local_diff(files, heads, plan, fmt, options, related=contexts)
        return
    try:
        table = price_table(prices)
    except ValueError as exc:
        raise click.BadParameter(
            f"invalid price table: it {exc}", param_hint="--prices / MODEL_PRICES"
        ) from None
    data = plan_to_dict(plan, model, estimate_cost(plan, model, table))
    if repo is not None:
        add_context(data, contexts)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _print_text(data)
