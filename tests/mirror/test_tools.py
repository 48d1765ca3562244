"""The model's tools over the mirror's view or over the changed files only."""

from __future__ import annotations

from pathlib import Path

from workers.mirror import DirView
from workers.model.tools import tool_definitions
from workers.review.toolhost import HeadToolHost


def _no_reader(path: str, ref: str) -> bytes | None:
    raise AssertionError("the API is not read when the repository is in view")


def test_with_a_repository_the_tools_cover_every_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.py").write_text("def helper(x):\n    return x\n")
    (tmp_path / "b.py").write_text("from lib.a import helper\nhelper_two = helper(1)\n")
    host = HeadToolHost(_no_reader, "0" * 40, {"b.py": "changed\n"}, repo=DirView(tmp_path))
    assert host.find_references("helper").splitlines() == [
        "b.py:1: from lib.a import helper",
        "b.py:2: helper_two = helper(1)",
        "lib/a.py:1: def helper(x):",
    ]
    assert host.search("helper_t") == "b.py:2: helper_two = helper(1)"
    assert host.read_file("lib/a.py", 2, 2) == "lib/a.py lines 2-2 of 2:\n     2      return x"
    assert host.scope.startswith("the whole repository")


def test_without_a_repository_references_are_whole_words_in_the_changed_files() -> None:
    changed = {"a.py": "total = 1\nsubtotal = total + 2\n"}
    host = HeadToolHost(lambda p, r: None, "0" * 40, changed)
    assert host.find_references("total") == "a.py:1: total = 1\na.py:2: subtotal = total + 2"
    assert host.find_references("tot").startswith("no match for the name 'tot' in only the")
    assert "changed files" in host.scope


def test_the_tool_descriptions_say_what_the_searches_cover(tmp_path: Path) -> None:
    host = HeadToolHost(lambda p, r: None, "0" * 40, {}, repo=DirView(tmp_path))
    tools = {t["name"]: t for t in tool_definitions(host)}
    assert set(tools) == {"read_file", "search", "find_references"}
    assert tools["search"]["description"].endswith(f"Searches {host.scope}.")
    assert "Searches" not in tools["read_file"]["description"]


def test_a_mirror_search_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text("x = 1\n" * 500)
    host = HeadToolHost(lambda p, r: None, "0" * 40, {}, repo=DirView(tmp_path))
    lines = host.search("x = 1").splitlines()
    assert len(lines) == 51
    assert lines[-1] == "(stopped at 50 matches)"


def test_closing_the_host_releases_the_view_once() -> None:
    released: list[int] = []
    host = HeadToolHost(lambda p, r: None, "0" * 40, {}, on_close=lambda: released.append(1))
    host.close()
    host.close()
    assert released == [1]
