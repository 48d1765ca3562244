"""Planning, by property: for random edits of random files, under random budgets, every
changed line is shown exactly once, every cited number points at that very text of the
head file, and token counts are exact and within budget."""

from __future__ import annotations

import difflib
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.diff import tokens
from workers.diff.patch import parse_patch
from workers.diff.plans import PlanOptions
from workers.diff.segment import plan_review

_NUMBERED = re.compile(r"(\d+)([ +:])(.*)")
_word = st.sampled_from(["x", "value", "return x", "pass", "def f(a):", "class K:", "if a:", ""])
_line = st.builds(lambda indent, word: " " * indent + word, st.sampled_from([0, 4, 8]), _word)
_file = st.lists(_line, min_size=1, max_size=60)


@st.composite
def edited(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    old = draw(_file)
    new = list(old)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(new)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or not new:
            new[at:at] = draw(st.lists(_line, min_size=1, max_size=4))
        elif op == "delete":
            del new[min(at, len(new) - 1)]
        else:
            new[min(at, len(new) - 1)] = draw(_line)
    return old, new


def patch_of(old: list[str], new: list[str], context: int) -> str:
    lines = difflib.unified_diff([f"{x}\n" for x in old], [f"{x}\n" for x in new], n=context)
    return "".join(list(lines)[2:])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=edited(),
    context=st.integers(0, 3),
    budget=st.integers(10, 400),
    added=st.booleans(),
)
def test_every_changed_line_shown_once_with_true_numbers(
    files: tuple[list[str], list[str]], context: int, budget: int, added: bool
) -> None:
    old, new = files
    if added:
        old = []
    patch = patch_of(old, new, context)
    if not patch:
        return  # the edits cancelled out
    diff = parse_patch("m.py", patch, status="added" if added else "modified")
    head = "".join(f"{x}\n" for x in new)
    plan = plan_review([diff], {"m.py": head}, PlanOptions(segment_tokens=budget))
    if plan.skipped:
        (skip,) = plan.skipped
        assert skip.reason == "a line is longer than the segment budget"
        assert skip.kind == "too_large"
        return

    assert plan.totals.covered_changed_lines == plan.totals.changed_lines == diff.changed
    shown_added: list[int] = []
    deleted = 0
    for segment in plan.segments:
        assert segment.tokens == tokens.count(segment.text) <= budget
        for line in segment.text.split("\n")[:-1]:
            if line.startswith(("=== ", "@@")):
                continue
            if line.startswith("-"):
                deleted += 1
                continue
            numbered = _NUMBERED.fullmatch(line)
            assert numbered is not None, line
            number, mark, text = int(numbered[1]), numbered[2], numbered[3]
            assert new[number - 1] == text
            if mark == "+" or (added and mark == " "):
                shown_added.append(number)
    additions = [ln.new for h in diff.hunks for ln in h.lines if ln.kind == "+"]
    assert shown_added == additions
    assert deleted == diff.deleted
