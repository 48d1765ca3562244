"""Parsing of git diffs and GitHub patches, over a hand-made diff with every file kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.diff.patch import FileDiff, parse_git_diff, parse_patch

EDGE = Path(__file__).parents[1] / "fixtures" / "diffs" / "edge.diff"


@pytest.fixture(scope="module")
def files() -> dict[str, FileDiff]:
    return {f.path: f for f in parse_git_diff(EDGE.read_bytes())}


def test_statuses_and_paths(files: dict[str, FileDiff]) -> None:
    summary = {p: (f.status, f.old_path, f.binary, len(f.hunks)) for p, f in files.items()}
    assert summary == {
        "blob.bin": ("modified", None, True, 0),
        "copied.txt": ("added", None, False, 1),
        "crlf.txt": ("modified", None, False, 1),
        "dead.txt": ("removed", None, False, 1),
        "empty.txt": ("added", None, False, 0),
        "latin.txt": ("modified", None, False, 1),
        "mod.py": ("modified", None, False, 1),
        "nonl.txt": ("modified", None, False, 1),
        "package-lock.json": ("modified", None, False, 1),
        "renamed.txt": ("renamed", "moved.txt", False, 1),
        "script.sh": ("changed", None, False, 0),
        "sp ace.txt": ("added", None, False, 1),
        "copy2.txt": ("copied", "copysrc.txt", False, 0),
        "café.txt": ("added", None, False, 1),
    }
    assert files["script.sh"].mode_changed
    assert (files["script.sh"].old_mode, files["script.sh"].new_mode) == ("100644", "100755")
    assert files["renamed.txt"].similarity == 90


def test_line_numbers_and_commentable_sides(files: dict[str, FileDiff]) -> None:
    mod = files["mod.py"]
    hunk = mod.hunks[0]
    assert (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len) == (1, 9, 1, 9)
    added = [(ln.new, ln.text) for ln in hunk.lines if ln.kind == "+"]
    deleted = [(ln.old, ln.text) for ln in hunk.lines if ln.kind == "-"]
    assert added == [(2, "    return 2"), (8, "        y = 3")]
    assert deleted == [(2, "    return 1"), (8, "        y = 2")]
    assert sorted(mod.right_lines) == list(range(1, 10))
    assert sorted(mod.left_lines) == list(range(1, 10))
    renamed = files["renamed.txt"]
    assert sorted(renamed.right_lines) == list(range(12, 19))
    assert renamed.commentable(15)
    assert not renamed.commentable(11)
    assert not files["dead.txt"].right_lines
    assert files["dead.txt"].left_lines == {1: 0}


def test_crlf_no_newline_and_bad_bytes(files: dict[str, FileDiff]) -> None:
    crlf = files["crlf.txt"].hunks[0].lines
    assert [ln.text for ln in crlf] == ["one", "two", "TWO", "three"]
    assert all(ln.crlf for ln in crlf)
    nonl = files["nonl.txt"].hunks[0].lines
    assert [(ln.kind, ln.text, ln.no_newline) for ln in nonl[-2:]] == [
        ("-", "c", False),
        ("+", "c", True),
    ]
    latin = files["latin.txt"].hunks[0].lines
    assert latin[1].text == "caf\ufffd!"


def test_github_patch_and_sections() -> None:
    patch = (
        "@@ -10,3 +10,4 @@ def handler(event):\n"
        "     a = 1\n-    b = 2\n+    b = 3\n+    c = 4\n     return a\n"
    )
    diff = parse_patch("app.py", patch)
    assert diff.malformed is None
    assert diff.hunks[0].section == "def handler(event):"
    assert [ln.new for ln in diff.hunks[0].lines] == [10, None, 11, 12, 13]
    assert diff.same_hunk(10, 13)
    assert not diff.same_hunk(9, 10)
    assert parse_patch("img.png", None).binary
    assert parse_patch("moved.py", "", status="renamed", old_path="old.py").hunks == ()


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("@@ -1,2 +1,2 @@\n a\n", "app.py: line 2: hunk @@ -1,2 +1,2 @@ ends early"),
        ("@@ -1 +1 @@\n-a\n+b\n+c\n", "app.py: line 4: expected a hunk header"),
        ("@@ nonsense @@\n+a\n", "app.py: line 1: bad hunk header"),
        ("@@ -1,2 +1,2 @@\n-a\n?b\n", "app.py: line 3: unexpected line '?b'"),
    ],
)
def test_malformed_patch_names_file_and_line(patch: str, message: str) -> None:
    diff = parse_patch("app.py", patch)
    assert diff.hunks == ()
    assert diff.malformed is not None
    assert diff.malformed.startswith(message)


def test_malformed_file_in_git_diff_does_not_stop_the_rest() -> None:
    text = (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-a\n+b\n"
        "diff --git a/y.py b/y.py\n--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-c\n+d\n"
    )
    x, y = parse_git_diff(text)
    assert (
        x.malformed
        == "x.py: line 6: hunk @@ -1,3 +1,3 @@ ends early (2 old and 2 new lines missing)"
    )
    assert y.malformed is None
    assert y.added == 1
