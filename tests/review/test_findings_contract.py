"""The findings contract: schema limits that match the parser, confidence and its threshold."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from codex_common.settings import ConfigError, load_settings
from tests.emulators.openai.answers import findings
from tests.emulators.openai.strict import strict_problem
from tests.review.conftest import BUG_QUOTE, World, finding
from tests.review.doubles import Anchored
from workers.config import GitHubSettings
from workers.findings import FINDING_SCHEMA, FINDINGS_SCHEMA, MAX_FINDINGS, Finding
from workers.model.review import _FindingOut, parse_findings
from workers.review.config import RepoConfig
from workers.review.render import CostLine, ReviewSummary, render_review_body
from workers.review.select import DEFAULT_MIN_CONFIDENCE, plan_findings, plan_for


def answer(**change: Any) -> dict[str, Any]:
    return {
        "path": "a.py",
        "line_start": 3,
        "line_end": 3,
        "quote": "x = 1",
        "priority": 1,
        "title": "A real bug",
        "body": "Because.",
        "suggestion": None,
        "confidence": 0.8,
        **change,
    }


def test_the_schema_sends_the_numeric_limits_the_parser_enforces() -> None:
    parser = _FindingOut.model_json_schema()["properties"]
    sent = FINDING_SCHEMA["properties"]
    for name in ("line_start", "line_end"):
        assert sent[name]["minimum"] == parser[name]["minimum"] == 1
    assert sent["confidence"]["minimum"] == parser["confidence"]["minimum"] == 0
    assert sent["confidence"]["maximum"] == parser["confidence"]["maximum"] == 1
    assert sent["priority"]["enum"] == list(
        range(parser["priority"]["minimum"], parser["priority"]["maximum"] + 1)
    )
    assert FINDINGS_SCHEMA["properties"]["findings"]["maxItems"] == MAX_FINDINGS
    assert set(FINDING_SCHEMA["required"]) == set(parser) == set(sent)


def test_the_strict_schema_rules_accept_the_limits() -> None:
    # minimum, maximum and maxItems are in the subset strict structured outputs support.
    assert strict_problem(FINDINGS_SCHEMA) is None


@pytest.mark.parametrize(
    "change",
    [
        {"confidence": 1.5},
        {"confidence": -0.1},
        {"confidence": "0.9"},
        {"confidence": True},
        {"line_start": 0},
        {"line_end": 0},
        {"priority": 4},
    ],
)
def test_values_outside_the_limits_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_findings({"findings": [answer(**change)], "needs_deeper_analysis": False})


def test_an_over_long_title_or_body_is_cut_not_refused() -> None:
    # A strict schema cannot state string lengths, so the parser does not refuse them.
    out = parse_findings(
        {"findings": [answer(title="t" * 500, body="b" * 9000)], "needs_deeper_analysis": False}
    )
    (finding,) = out.findings
    assert finding.title == "t" * 199 + "…"
    assert finding.body == "b" * 7999 + "…"


def test_an_answer_without_confidence_is_refused() -> None:
    item = answer()
    del item["confidence"]
    with pytest.raises(ValidationError):
        parse_findings({"findings": [item], "needs_deeper_analysis": False})


def test_confidence_reaches_the_finding_and_whole_numbers_are_accepted() -> None:
    out = parse_findings(
        {
            "findings": [answer(confidence=1), answer(confidence=0.25)],
            "needs_deeper_analysis": False,
        }
    )
    assert [f.confidence for f in out.findings] == [1.0, 0.25]
    assert out.dropped == 0


def test_an_over_long_answer_keeps_the_most_important_findings() -> None:
    items = [answer(title=f"minor {n}", priority=3, confidence=0.9) for n in range(MAX_FINDINGS)]
    items.insert(7, answer(title="severe", priority=0, confidence=0.3))
    items += [answer(title=f"sure {n}", priority=1, confidence=0.95) for n in range(5)]
    items += [answer(title="unsure", priority=3, confidence=0.2)]

    out = parse_findings({"findings": items, "needs_deeper_analysis": False})

    titles = [f.title for f in out.findings]
    assert len(titles) == MAX_FINDINGS
    assert out.dropped == len(items) - MAX_FINDINGS == 7
    assert "severe" in titles
    assert all(f"sure {n}" in titles for n in range(5))
    assert "unsure" not in titles
    # The model's order is kept among the findings kept.
    assert titles.index("severe") < titles.index("sure 0")


def _placed(title: str, confidence: float, priority: int = 1, line: int = 3) -> Anchored:
    finding = Finding("a.py", line, line, f"q{line}", priority, title, "b", None, confidence)
    return Anchored(finding, "a.py", line)


def test_findings_below_the_confidence_threshold_are_listed_in_the_body_not_inline() -> None:
    plan = plan_findings(
        [
            _placed("sure", 0.9, line=1),
            _placed("unsure", 0.4, line=2),
            _placed("edge", 0.6, line=3),
        ],
        min_inline_priority=2,
        max_inline=10,
        min_confidence=0.6,
    )
    assert [i.anchored.finding.title for i in plan.inline] == ["sure", "edge"]
    assert [(x.finding.title, x.reason) for x in plan.listed] == [("unsure", "low_confidence")]


def test_the_default_threshold_is_the_documented_one() -> None:
    assert DEFAULT_MIN_CONFIDENCE == 0.6
    plan = plan_for([_placed("unsure", 0.59)], [], RepoConfig())
    assert plan.listed[0].reason == "low_confidence"


def test_the_review_body_counts_and_explains_low_confidence_findings() -> None:
    plan = plan_findings(
        [_placed("sure", 0.9, line=1), _placed("unsure", 0.4, line=2)],
        min_inline_priority=2,
        max_inline=10,
        min_confidence=0.6,
    )
    summary = ReviewSummary(
        head_sha="a" * 40,
        base_sha=None,
        model="m",
        files_reviewed=1,
        lines_reviewed=2,
        segments_reviewed=1,
        segments_total=1,
        usage=CostLine(0, 0, 0, 0.0),
    )
    body = render_review_body(summary, plan)
    assert "2 new findings" in body
    assert "1 inline, 1 below" in body
    assert "unsure" in body
    assert "(model confidence 0.40, below the inline threshold)" in body


def test_min_confidence_is_a_setting_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-setting-check")
    assert load_settings(GitHubSettings).min_confidence == 0.6
    monkeypatch.setenv("MIN_CONFIDENCE", "0.8")
    assert load_settings(GitHubSettings).min_confidence == 0.8
    monkeypatch.setenv("MIN_CONFIDENCE", "1.5")
    with pytest.raises(ConfigError, match="MIN_CONFIDENCE"):
        load_settings(GitHubSettings)


def test_a_low_confidence_finding_is_posted_in_the_review_body_not_inline(world: World) -> None:
    unsure = finding("calc.py", 11, BUG_QUOTE, "mul might add", confidence=0.3)
    world.openai.add(findings([unsure]), match=BUG_QUOTE)

    outcome = world.run("opened")

    assert outcome.status == "posted"
    assert world.comments() == []
    (review,) = world.reviews()
    assert "1 new finding" in review["body"]
    assert "0 inline, 1 below" in review["body"]
    assert "mul might add" in review["body"]
    assert "(model confidence 0.30, below the inline threshold)" in review["body"]


def test_the_operator_threshold_decides_what_goes_inline(world: World) -> None:
    unsure = finding("calc.py", 11, BUG_QUOTE, "mul might add", confidence=0.3)
    world.openai.add(findings([unsure]), match=BUG_QUOTE)

    outcome = world.service(min_confidence=0.25).run(world.job("opened"))

    assert outcome.status == "posted"
    assert [c["line"] for c in world.comments()] == [11]
