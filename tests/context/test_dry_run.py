"""``codex-bot review-diff DIFF --repo DIR --dry-run`` lists each segment's related code."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from workers.cli.review_diff import review_diff

from .conftest import Checkout


def test_the_json_dry_run_lists_context_with_kinds_and_tokens(
    checkout: Checkout, diff_file: Path
) -> None:
    args = [str(diff_file), "--repo", str(checkout.root), "--dry-run", "--format", "json"]
    result = CliRunner().invoke(review_diff, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (segment,) = data["segments"]
    kinds = {(c["kind"], c["symbol"], c["path"]) for c in segment["context"]}
    assert kinds == {
        ("enclosing", "total", "pkg/core.py"),
        ("caller", "total", "pkg/report.py"),
        ("test", "total", "tests/test_core.py"),
        ("definition", "clamp", "pkg/helpers.py"),
        ("definition", "MAX_ITEMS", "pkg/consts.py"),
    }
    assert set(segment["context"][0]) == {"path", "start_line", "end_line", "kind", "symbol"}
    assert segment["context_tokens"] > 0
    assert data["totals"]["context_tokens"] == segment["context_tokens"]


def test_a_budget_of_zero_leaves_only_the_enclosing_definitions(
    checkout: Checkout, diff_file: Path
) -> None:
    args = [str(diff_file), "--repo", str(checkout.root), "--dry-run", "--format", "json"]
    result = CliRunner().invoke(review_diff, [*args, "--context-tokens", "0"])
    (segment,) = json.loads(result.output)["segments"]
    assert [c["kind"] for c in segment["context"]] == ["enclosing"]
    assert segment["context_tokens"] == 0


def test_the_text_dry_run_shows_the_context_lines(checkout: Checkout, diff_file: Path) -> None:
    result = CliRunner().invoke(
        review_diff, [str(diff_file), "--repo", str(checkout.root), "--dry-run"]
    )
    assert "  context caller: pkg/report.py:4-6 total" in result.output


def test_without_a_checkout_there_is_no_context(diff_file: Path) -> None:
    result = CliRunner().invoke(review_diff, [str(diff_file), "--dry-run", "--format", "json"])
    (segment,) = json.loads(result.output)["segments"]
    assert "context" not in segment
