"""``codex-bot review OWNER/REPO#N``: the same pipeline, once, from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.emulators.openai import findings
from tests.review.conftest import (
    BUG,
    BUG_FIX,
    BUG_QUOTE,
    HEAD_CALC,
    REPO,
    World,
    finding,
)
from workers.cli.review import parse_target, review


def env(world: World) -> dict[str, str]:
    return {
        "APP_ID": str(world.app.id),
        "PRIVATE_KEY": world.app.private_key_pem,
        "GITHUB_API_URL": world.github.base_url,
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": world.openai.url,
        "OPENAI_ESCALATION_MODEL": "",
        "REDIS_URL": world.redis_url,
        "GITHUB_TOKEN": "",
        "DATA_DIR": str(world.github.state.root.parent / "data"),
    }


def test_dry_run_prints_the_review_and_posts_nothing(world: World) -> None:
    world.openai.add(findings([BUG]), match=BUG_QUOTE)

    result = CliRunner().invoke(review, [f"{REPO}#{world.number}", "--dry-run"], env=env(world))

    assert result.exit_code == 0, result.output
    assert "mul adds instead of multiplying" in result.output
    assert "calc.py:11" in result.output
    assert "dry_run" in result.output
    assert world.reviews() == []
    assert world.check_runs() == []
    # The related code its prompt showed, from the mirror.
    assert "Segment 1: related code" in result.output
    assert "enclosing: calc.py:" in result.output


def test_without_dry_run_the_review_is_posted(world: World) -> None:
    world.openai.add(findings([BUG]), match=BUG_QUOTE)

    result = CliRunner().invoke(
        review,
        [f"{REPO}#{world.number}", "--installation-id", str(world.installation)],
        env=env(world),
    )

    assert result.exit_code == 0, result.output
    assert "posted" in result.output
    assert len(world.reviews()) == 1
    assert len(world.comments()) == 1


def test_targets_are_parsed_strictly() -> None:
    assert parse_target("acme/calc#12") == ("acme/calc", 12)
    for bad in ("acme/calc", "acme#12", "acme/calc#x", "a/b/c#1"):
        with pytest.raises(Exception, match="OWNER/REPO#NUMBER"):
            parse_target(bad)


def test_review_diff_reviews_a_local_diff_with_the_model(world: World, tmp_path: Path) -> None:
    from workers.cli.review_diff import review_diff

    head = tmp_path / "head"
    head.mkdir()
    (head / "calc.py").write_text(HEAD_CALC)
    new_lines = HEAD_CALC.splitlines()[8:]
    diff = (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"
        "@@ -6,0 +7,5 @@ def sub(a, b):\n" + "".join(f"+{line}\n" for line in ["", "", *new_lines])
    )
    lost = finding("nowhere.py", 3, "nothing here", "Cites a file outside the diff")
    world.openai.add(findings([BUG, lost]), match=BUG_QUOTE)
    local = {k: v for k, v in env(world).items() if k.startswith(("OPENAI", "REDIS"))}

    result = CliRunner().invoke(
        review_diff, ["-", "--format", "json", "--head", str(head)], input=diff, env=local
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (found,) = data["findings"]
    assert (found["path"], found["line"], found["start_line"], found["side"]) == (
        "calc.py",
        11,
        None,
        "RIGHT",
    )
    assert found["suggestion"] == BUG_FIX
    (missed,) = data["unanchored"]
    assert missed["reason"] == "file is not part of the diff"
    assert data["usage"]["input_tokens"] > 0
    assert float(data["cost_usd"]) > 0


def test_review_diff_dry_run_prices_come_from_the_model_client_table(tmp_path: Path) -> None:
    from decimal import Decimal

    from workers.cli.review_diff import review_diff
    from workers.model.pricing import PriceTable
    from workers.model.wire import Usage

    diff = (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"
        "@@ -1,0 +1,3 @@\n+def mul(a, b):\n+    return a * b\n+\n"
    )
    source = tmp_path / "change.diff"
    source.write_text(diff)
    runner = CliRunner()

    def estimate(*args: str, env: dict[str, str] | None = None) -> tuple[Any, int]:
        result = runner.invoke(
            review_diff, [str(source), "--dry-run", "--format", "json", *args], env=env
        )
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        return data["estimated_cost_usd"], data["totals"]["prompt_tokens"]

    cost, tokens = estimate(env={"MODEL_PRICES": "", "OPENAI_MODEL": ""})
    billed = PriceTable.default().cost("gpt-5-codex-mini", Usage(input_tokens=tokens))
    assert tokens > 0
    assert Decimal(str(cost)) == round(billed, 6)
    # A dated snapshot takes its family's price, as in the client's accounting.
    snapshot, _ = estimate("--model", "gpt-5-codex-2025-09-15", env={"MODEL_PRICES": ""})
    assert Decimal(str(snapshot)) == round(
        PriceTable.default().cost("gpt-5-codex", Usage(input_tokens=tokens)), 6
    )
    # MODEL_PRICES, the worker's override, moves the estimate the same way.
    table = '{"gpt-5-codex-mini": {"input": 1000000, "cached_input": 0, "output": 0}}'
    overridden, _ = estimate(env={"MODEL_PRICES": table, "OPENAI_MODEL": ""})
    assert overridden == tokens
    unknown, _ = estimate("--model", "some-other-model", env={"MODEL_PRICES": ""})
    assert unknown is None
    refused = runner.invoke(
        review_diff, [str(source), "--dry-run", "--prices", "{not json"], env={"MODEL_PRICES": ""}
    )
    assert refused.exit_code == 2
    assert "invalid price table" in refused.output
