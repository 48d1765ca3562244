"""``codex-bot review OWNER/REPO#N``: the same pipeline, once, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.review import parse_target, review
from tests.emulators.openai import findings
from tests.review_flow.conftest import (
    BUG,
    BUG_FIX,
    BUG_QUOTE,
    HEAD_CALC,
    REPO,
    World,
    finding,
)


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
    from bot.cli.review_diff import review_diff

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
    data = json.loads(result.output)
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
