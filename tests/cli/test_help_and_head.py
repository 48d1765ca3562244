"""``--help`` of every command, and how ``review-diff --head`` finds the new side of a diff."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import _SUBCOMMANDS, main
from workers.cli.review_diff import read_heads, review_diff


@pytest.mark.parametrize("name", sorted(_SUBCOMMANDS))
def test_every_command_says_which_settings_it_needs_and_where_they_come_from(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Settings: needs" in text
    assert ".env in the current directory" in text
    assert "--env-file" in text


@pytest.mark.parametrize("name", sorted(_SUBCOMMANDS))
def test_every_option_has_help_text(name: str) -> None:
    module = importlib.import_module(_SUBCOMMANDS[name][0])
    command: click.Command = getattr(module, name.replace("-", "_"))
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


DIFF = b"""diff --git a/{p} b/{p}
--- a/{p}
+++ b/{p}
@@ -1,2 +1,2 @@
 def f():
-    return 1
+    return 2
"""


def diff_for(path: str) -> bytes:
    return DIFF.replace(b"{p}", path.encode())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "new"
    (root / "src").mkdir(parents=True)
    (root / "src" / "calc.py").write_text("def f():\n    return 2\n")
    (tmp_path / "secret.py").write_text("TOKEN = 'outside'\n")
    return root


def test_paths_as_they_are_are_read(tree: Path) -> None:
    assert read_heads(tree, ["src/calc.py"]).contents == {"src/calc.py": "def f():\n    return 2\n"}


def test_no_index_paths_with_the_directory_prefix_are_matched(tree: Path) -> None:
    # git diff --no-index old new: the paths carry the directory's name.
    found = read_heads(tree, ["new/src/calc.py"])
    assert found.strip == 1
    assert found.contents == {"new/src/calc.py": "def f():\n    return 2\n"}


def test_a_diff_none_of_whose_files_is_under_head_is_an_error(tree: Path) -> None:
    with pytest.raises(click.UsageError, match="none of the diff's 1 files is there"):
        read_heads(tree, ["lib/other.py"])


@pytest.mark.parametrize("path", ["../secret.py", "/etc/hostname"])
def test_paths_leaving_head_are_never_read(tree: Path, path: str) -> None:
    found = read_heads(tree, ["src/calc.py", path])
    assert path not in found.contents
    assert "TOKEN" not in "".join(found.contents.values())


def test_a_symlink_escaping_head_is_refused(tree: Path) -> None:
    (tree / "src" / "link.py").symlink_to(tree.parent / "secret.py")
    found = read_heads(tree, ["src/calc.py", "src/link.py"])
    assert found.refused == ("src/link.py",)
    assert "src/link.py" not in found.contents


def test_review_diff_says_clearly_when_head_matches_nothing(tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "change.diff"
    patch.write_bytes(diff_for("lib/other.py"))
    result = CliRunner().invoke(review_diff, [str(patch), "--dry-run", "--head", str(tree)])
    assert result.exit_code == 2
    assert "none of the diff's 1 files is there" in result.output


def test_review_diff_names_a_refused_symlink(tree: Path, tmp_path: Path) -> None:
    (tree / "src" / "link.py").symlink_to(tree.parent / "secret.py")
    patch = tmp_path / "change.diff"
    patch.write_bytes(diff_for("src/calc.py") + diff_for("src/link.py"))
    result = CliRunner().invoke(review_diff, [str(patch), "--dry-run", "--head", str(tree)])
    assert result.exit_code == 0, result.output
    assert "not reading src/link.py: outside" in result.stderr
