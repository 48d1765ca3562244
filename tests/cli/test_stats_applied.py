"""When a later head counts as carrying a suggestion (``workers.stats.applied``)."""

from __future__ import annotations

from workers.stats.applied import suggestion_applied

BEFORE = "def mul(a, b):\n    # product\n    return a + b\n"
FIX = "    return a * b"


def test_the_suggested_line_in_place_is_applied() -> None:
    assert suggestion_applied(BEFORE.replace("a + b", "a * b"), 3, FIX)


def test_the_suggestion_still_counts_when_edits_above_moved_it() -> None:
    moved = "import math\n\n\n" + BEFORE.replace("a + b", "a * b")
    assert suggestion_applied(moved, 3, FIX)


def test_the_unchanged_file_is_not_applied() -> None:
    assert not suggestion_applied(BEFORE, 3, FIX)


def test_the_same_text_far_from_the_anchored_place_does_not_count() -> None:
    far = BEFORE + "\n" * 100 + FIX + "\n"
    assert not suggestion_applied(far, 3, FIX)


def test_a_multi_line_suggestion_must_appear_whole_and_in_order() -> None:
    fix = "    total = a * b\n    return total"
    assert suggestion_applied(BEFORE.replace("    return a + b", fix), 3, fix)
    assert not suggestion_applied(BEFORE.replace("    return a + b", "    return total"), 3, fix)


def test_a_deletion_is_never_counted() -> None:
    assert not suggestion_applied("", 3, "")
