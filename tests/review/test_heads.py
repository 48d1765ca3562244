"""Head texts of added files, rebuilt from their patches, checked against git's own diffs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.diff import parse_git_diff, parse_patch
from workers.review.heads import added_file_text, known_heads


def git_added(tmp: Path, name: str, data: bytes) -> str:
    """``git diff`` of a new file holding ``data``, as text."""
    target = tmp / name
    target.write_bytes(data)
    done = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "--", "/dev/null", str(target)],
        capture_output=True,
        check=False,
        cwd=tmp,
    )
    assert done.returncode == 1, done.stderr  # 1: the files differ
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize(
    "text",
    [
        "def f():\n    return 1\n",
        "no newline at the end",
        "windows\r\nlines\r\n",
        "mixed\r\nends\nlast without newline",
        "\n\n\nblank lines first\n",
        "trailing blank lines\n\n\n",
    ],
)
def test_an_added_file_is_rebuilt_exactly(tmp_path: Path, text: str) -> None:
    (diff,) = parse_git_diff(git_added(tmp_path, "new.py", text.encode()).encode())

    assert diff.is_new
    assert added_file_text(diff) == text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
            max_size=30,
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.sampled_from(["\n", "\r\n"]), min_size=12, max_size=12),
    st.booleans(),
)
def test_rebuilt_text_matches_any_added_file(
    tmp_path: Path, lines: list[str], ends: list[str], final_newline: bool
) -> None:
    text = "".join(line + end for line, end in zip(lines, ends, strict=False))
    if not final_newline:
        text = text.removesuffix(ends[len(lines) - 1])
    if not text:
        return  # an empty file has no hunk: it is fetched like any other
    (diff,) = parse_git_diff(git_added(tmp_path, "f.txt", text.encode()).encode())

    assert added_file_text(diff) == text


def test_only_a_patch_that_holds_the_whole_file_qualifies() -> None:
    whole = parse_patch("a.py", "@@ -0,0 +1,2 @@\n+one\n+two", status="added")
    modified = parse_patch("a.py", "@@ -0,0 +1,2 @@\n+one\n+two", status="modified")
    # An "added" file whose patch starts further down (a hunk GitHub cut) is not whole.
    cut = parse_patch("a.py", "@@ -0,0 +3,2 @@\n+three\n+four", status="added")
    binary = parse_patch("a.bin", None, status="added")
    two_hunks = parse_patch("a.py", "@@ -0,0 +1,1 @@\n+one\n@@ -0,0 +2,1 @@\n+two", status="added")

    assert added_file_text(whole) == "one\ntwo\n"
    assert added_file_text(modified) is None
    assert added_file_text(cut) is None
    assert added_file_text(binary) is None
    assert added_file_text(two_hunks) is None


def test_known_heads_keeps_the_fetch_size_limit() -> None:
    small = parse_patch("small.py", "@@ -0,0 +1,1 @@\n+x = 1", status="added")
    large = parse_patch("large.py", "@@ -0,0 +1,1 @@\n+" + "y" * 100, status="added")
    changed = parse_patch("old.py", "@@ -1,1 +1,1 @@\n-a\n+b", status="modified")

    assert known_heads([small, large, changed], max_bytes=50) == {"small.py": "x = 1\n"}
