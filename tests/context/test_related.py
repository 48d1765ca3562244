"""Related code for a segment: callers, definitions, tests, the budget."""

from __future__ import annotations

from workers.context.items import PREAMBLE
from workers.context.related import RelatedFinder, is_test_path
from workers.mirror import DirView

from .conftest import Checkout


def _context(checkout: Checkout, budget: int = 3_000) -> list[tuple[str, str, str, int, int]]:
    finder = RelatedFinder(
        DirView(checkout.root),
        {f.path: f for f in checkout.files},
        checkout.contents,
        budget=budget,
    )
    (segment,) = finder.for_plan(checkout.plan)
    return [(i.kind, i.symbol, i.path, i.start_line, i.end_line) for i in segment.items]


def test_a_changed_signature_brings_its_callers_definitions_and_tests(checkout: Checkout) -> None:
    items = _context(checkout)
    assert ("enclosing", "total", "pkg/core.py", 5, 7) in items
    assert ("caller", "total", "pkg/report.py", 4, 6) in items  # within report()
    assert ("test", "total", "tests/test_core.py", 4, 5) in items
    assert ("definition", "clamp", "pkg/helpers.py", 1, 3) in items
    assert ("definition", "MAX_ITEMS", "pkg/consts.py", 1, 1) in items
    # Imports and prose that merely name the function are not call sites.
    assert not any(path == "docs/notes.md" for _, _, path, _, _ in items)
    assert not any(kind in ("caller", "test") and line == 1 for kind, _, _, line, _ in items)


def test_the_context_text_numbers_lines_and_says_it_cannot_be_cited(checkout: Checkout) -> None:
    finder = RelatedFinder(
        DirView(checkout.root), {f.path: f for f in checkout.files}, checkout.contents
    )
    (segment,) = finder.for_plan(checkout.plan)
    text = segment.render()
    assert text.startswith(PREAMBLE)
    assert "pkg/report.py:4-6 (call of total)\n     4  def report(rows):" in text
    assert segment.tokens == sum(i.tokens for i in segment.items)
    assert segment.tokens > 0


def test_the_budget_caps_the_context_and_counts_what_was_left_out(checkout: Checkout) -> None:
    files = {f.path: f for f in checkout.files}
    (whole,) = RelatedFinder(DirView(checkout.root), files, checkout.contents).for_plan(
        checkout.plan
    )
    caller = next(i for i in whole.items if i.kind == "caller")
    budget = caller.tokens + 5  # room for the caller and nothing else of that size
    finder = RelatedFinder(DirView(checkout.root), files, checkout.contents, budget=budget)
    (segment,) = finder.for_plan(checkout.plan)
    assert segment.tokens <= budget
    assert segment.left_out >= 3
    # Callers come first.
    assert [i.kind for i in segment.items if i.kind != "enclosing"] == ["caller"]


def test_a_zero_budget_lists_only_the_enclosing_definitions(checkout: Checkout) -> None:
    assert _context(checkout, budget=0) == [("enclosing", "total", "pkg/core.py", 5, 7)]


def test_test_paths_are_recognised_across_languages() -> None:
    for path in ("tests/a.py", "pkg/test_a.py", "a_test.go", "src/a.spec.ts", "FooTest.java"):
        assert is_test_path(path), path
    for path in ("pkg/core.py", "src/testing_utils_x.go", "contest.py"):
        assert not is_test_path(path), path
