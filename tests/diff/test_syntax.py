"""FileSyntax: agreement with ``ast``, and the fallbacks that keep it answering."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from workers.diff.context import FileScopes
from workers.diff.syntax import FileSyntax, language_of, tree
from workers.diff.syntax.heuristic import IndentScopes

NESTED = (
    "class Store:\n"
    "    def put(self, key):\n"
    "        if key:\n"
    "            return 1\n"
    "        return 2\n"
    "\n"
    "\n"
    "def free():\n"
    "    return 3\n"
)


def _ast_chain(spans: list[tuple[int, int]], line: int) -> list[int]:
    return sorted(start for start, end in spans if start < line <= end)[-3:]


@pytest.mark.parametrize("module", ["argparse.py", "dataclasses.py", "json/decoder.py"])
def test_python_scopes_agree_with_ast_on_every_statement_of_stdlib_modules(module: str) -> None:
    text = (Path(sysconfig.get_paths()["stdlib"]) / module).read_text(encoding="utf-8")
    parsed = ast.parse(text)
    syntax = FileSyntax.from_source(module, text)
    assert syntax.parsed
    nodes = list(ast.walk(parsed))
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in nodes
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    statements = sorted({n.lineno for n in nodes if isinstance(n, ast.stmt)})
    assert len(statements) > 100
    for line in statements:
        assert [n for n, _ in syntax.enclosing(line)] == _ast_chain(spans, line), line


def test_an_unknown_extension_gets_the_indentation_scan() -> None:
    text = "fun main() {\n    val x = 1\n    println(x)\n}\n"
    syntax = FileSyntax.from_source("Main.kt", text)
    assert language_of("Main.kt") is None
    assert not syntax.parsed
    assert syntax.enclosing(3) == ((1, "fun main() {"),)
    assert syntax.enclosing(3) == IndentScopes.from_content("Main.kt", text).enclosing(3)
    assert syntax.definitions() == ()
    assert syntax.references() == ()


def test_prose_gets_no_scopes() -> None:
    assert FileSyntax.from_source("README.md", "Title:\n  indented text\n").enclosing(2) == ()


def test_a_file_that_does_not_parse_still_answers() -> None:
    text = NESTED.replace("        return 2\n", "        return )(]2 +\n")
    syntax = FileSyntax.from_source("store.py", text)
    assert syntax.parsed
    # Inside the broken region the scan answers; elsewhere the tree still does.
    assert [n for n, _ in syntax.enclosing(5)] == [1, 2]
    assert [n for n, _ in syntax.enclosing(9)] == [8]
    assert {d.name for d in syntax.definitions()} >= {"free"}


def test_a_file_over_the_size_cap_is_scanned_not_parsed() -> None:
    text = NESTED + "# padding\n" * (tree.MAX_BYTES // 10)
    syntax = FileSyntax.from_source("big.py", text)
    assert not syntax.parsed
    assert [n for n, _ in syntax.enclosing(4)] == [1, 2]


def test_a_parse_over_its_time_limit_falls_back_and_the_parser_is_reusable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tree, "PARSE_SECONDS", -1.0)
    slow = FileSyntax.from_source("store.py", NESTED * 50)
    assert not slow.parsed
    assert [n for n, _ in slow.enclosing(4)] == [1, 2]
    monkeypatch.undo()
    assert FileSyntax.from_source("store.py", NESTED).parsed


def test_out_of_range_lines_and_trailing_blank_lines() -> None:
    syntax = FileSyntax.from_source("store.py", NESTED)
    assert syntax.enclosing(0) == ()
    assert syntax.enclosing(99) == ()
    # Between the class and the function: neither encloses it.
    assert syntax.enclosing(7) == ()
    # The empty line after the final newline answers as the last statement.
    assert syntax.enclosing(len(NESTED.split("\n"))) == ((8, "def free():"),)


def test_scopes_show_at_most_the_three_innermost() -> None:
    text = "".join(f"{'    ' * depth}def f{depth}():\n" for depth in range(5)) + " " * 20 + "x\n"
    syntax = FileSyntax.from_source("deep.py", text)
    assert [n for n, _ in syntax.enclosing(6)] == [3, 4, 5]


def test_decorators_are_not_inside_the_function_they_decorate() -> None:
    text = "class A:\n    @property\n    def size(self):\n        return 1\n"
    syntax = FileSyntax.from_source("a.py", text)
    assert [n for n, _ in syntax.enclosing(2)] == [1]
    assert [n for n, _ in syntax.enclosing(4)] == [1, 3]
    size = next(d for d in syntax.definitions() if d.name == "size")
    assert (size.kind, size.line, size.start_line, size.end_line) == ("method", 3, 3, 4)


def test_file_scopes_keeps_its_interface_for_the_planner() -> None:
    scopes = FileScopes.from_content("store.py", NESTED)
    assert scopes.enclosing(4) == ((1, "class Store:"), (2, "    def put(self, key):"))
    crlf = FileScopes.from_content("store.py", NESTED.replace("\n", "\r\n"))
    assert crlf.enclosing(4) == ((1, "class Store:"), (2, "    def put(self, key):"))
