"""``codex-bot review-diff PATH|- --dry-run``: plan the review of a local diff, offline.

Prints the segments (files, changed lines, tokens), the skipped files with their
reasons, the totals and the estimated input cost at the configured model's price,
from the model client's own price table, with ``MODEL_PRICES`` read by the
worker's own parser (``workers.model.config.parse_prices``), so an estimate and
a bill use the same prices. The dry run needs no API key; the review does, and
reads the model section (``ModelSettings``) from the environment and ``.env``.
``--head DIR`` points at the new tree so enclosing functions can be shown; the
diff's paths are matched under DIR as they are or with leading directories
removed (like ``patch -p``: ``b/src/x.py``, or ``new/src/x.py`` from
``git diff --no-index old new``), one level for the whole diff; a path that is
absolute, climbs out with ``..`` or resolves outside DIR through a symlink is
never read, and a diff none of whose files exists under DIR is an error.
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
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from codex_common.cli import env_file_option, settings_file, settings_help
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


@dataclass(frozen=True, slots=True)
class Heads:
    """What ``read_heads`` found under ``--head``: contents by diff path, how many leading
    directories were removed to match, and the paths refused for leaving the tree."""

    contents: dict[str, str]
    strip: int
    refused: tuple[str, ...]


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` when it stays inside ``root`` (symlinks followed), else ``None``."""
    if relative.startswith("/") or ".." in Path(relative).parts:
        return None
    resolved = (root / relative).resolve()
    return resolved if resolved.is_relative_to(root) else None


def _stripped(path: str, level: int) -> str | None:
    parts = path.split("/")
    return "/".join(parts[level:]) if level < len(parts) else None


def read_heads(root: Path, paths: list[str]) -> Heads:
    """The new side's contents of ``paths`` under ``root``, at the strip level (0, 1, 2...)
    that finds the most of them; raises ``click.UsageError`` when none is found."""
    root = root.resolve()
    best: tuple[int, int] = (0, -1)  # (found, level)
    depth = max((p.count("/") for p in paths), default=0)
    for level in range(depth + 1):
        found = 0
        for path in paths:
            rel = _stripped(path, level)
            file = _inside(root, rel) if rel else None
            if file is not None and file.is_file():
                found += 1
        if found > best[0]:
            best = (found, level)
    if paths and best[0] == 0:
        refused = [p for p in paths if _inside(root, p) is None]
        why = f"; refused, outside it: {', '.join(refused)}" if refused else ""
        raise click.UsageError(
            f"--head {root}: none of the diff's {len(paths)} files is there "
            f"(looked for {paths[0]!r}, also with leading directories removed){why}"
        )
    level = max(best[1], 0)
    contents: dict[str, str] = {}
    refused_paths: list[str] = []
    for path in paths:
        rel = _stripped(path, level)
        file = _inside(root, rel) if rel else None
        if file is None:
            refused_paths.append(path)
        elif file.is_file():
            contents[path] = file.read_bytes().decode("utf-8", errors="replace")
    return Heads(contents, level, tuple(refused_paths))


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


@click.command(
    "review-diff",
    epilog=settings_help(
        ("OPENAI_API_KEY (not for --dry-run)",),
        "; optional OPENAI_BASE_URL, OPENAI_MODEL, MODEL_PRICES and REDIS_URL "
        "(unset: a throwaway Redis)",
    ),
)
@click.argument("source", type=click.Path(allow_dash=True, dir_okay=False))
@env_file_option
@click.option("--dry-run", is_flag=True, help="Print the plan and its estimated cost; no network.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output: lines for people, or one JSON document for scripts.",
)
@click.option(
    "--head",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory holding the diff's new side (the checkout after the change), for "
    "enclosing functions and suggestions; prefixed paths (b/, git diff --no-index a b) "
    "are matched; nothing outside it is read.",
)
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
@click.option(
    "--segment-tokens",
    type=int,
    default=DEFAULT_SEGMENT_TOKENS,
    show_default=True,
    help="Largest prompt of one model call, in tokens of diff.",
)
@click.option(
    "--total-tokens",
    type=int,
    default=DEFAULT_TOTAL_TOKENS,
    show_default=True,
    help="Most tokens of diff reviewed in all; segments beyond it are listed as not reviewed.",
)
@click.option(
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    envvar="OPENAI_MODEL",
    help="Model whose price the dry run estimates with (OPENAI_MODEL).",
)
@click.option(
    "--prices",
    envvar="MODEL_PRICES",
    help='JSON price table over the defaults: {"model": {"input": .., "cached_input": .., '
    '"output": ..}} in USD per million tokens (the worker reads the same MODEL_PRICES).',
)
def review_diff(
    source: str,
    env_file: Path | None,
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
    """Review (or plan, with --dry-run) a git diff read from SOURCE, or stdin for -."""
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    files = parse_git_diff(raw)
    heads: dict[str, str] = {}
    tree = head or repo  # a checkout of the head holds the new side too
    if tree is not None:
        found = read_heads(tree, [f.path for f in files])
        for path in found.refused:
            click.echo(f"codex-bot review-diff: not reading {path}: outside {tree}", err=True)
        heads = found.contents
    options = PlanOptions(
        include=include, exclude=exclude, segment_tokens=segment_tokens, total_tokens=total_tokens
    )
    plan = plan_review(files, heads, options)
    contexts = related_context(plan, heads, repo, context_tokens) if repo is not None else {}
    if not dry_run:
        from workers.cli.review import review_local_diff

        env_file = settings_file(env_file, "codex-bot review-diff")
        review_local_diff(files, heads, plan, fmt, options, env_file, related=contexts)
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
