"""Per language: a small real-looking file with nested scopes, checked by hand.

Each sample in ``syntax_samples/`` is parsed with its grammar; the enclosing
scopes at a few lines, the definitions and the calls below were read off the
source, not produced by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.diff.syntax import FileSyntax

SAMPLES = Path(__file__).parent / "syntax_samples"

# file -> (language, {line: signature lines enclosing it}, {(name, kind) definitions}, {calls})
CASES: dict[str, tuple[str, dict[int, list[int]], set[tuple[str, str]], set[str]]] = {
    "a.py": (
        "python",
        {3: [], 8: [6], 9: [6], 11: [6, 10], 15: [6, 13, 14], 17: [6, 13], 20: [], 22: [21]},
        {
            ("LIMIT", "constant"),
            ("Store", "class"),
            ("size", "method"),
            ("put", "method"),
            ("check", "function"),
            ("main", "function"),
        },
        {"len", "exists", "check", "append", "Store", "put"},
    ),
    "a.js": (
        "javascript",
        {5: [3, 4], 10: [3, 8], 13: [3], 16: [15], 21: [19]},
        {
            ("MAX", "constant"),
            ("Cart", "class"),
            ("constructor", "method"),
            ("total", "method"),
            ("price", "function"),
            ("main", "function"),
        },
        {"reduce", "price", "Cart", "log", "total"},
    ),
    "a.ts": (
        "typescript",
        {2: [1], 8: [7], 11: [7, 10], 16: [15], 21: [19, 20]},
        {
            ("Item", "interface"),
            ("Total", "type"),
            ("Cart", "class"),
            ("total", "method"),
            ("price", "function"),
            ("Shop", "module"),
            ("open", "function"),
        },
        {"reduce", "price", "Cart"},
    ),
    "a.tsx": (
        "tsx",
        {7: [5, 6], 9: [5], 14: [12, 13]},
        {
            ("Props", "type"),
            ("Greeting", "function"),
            ("upper", "function"),
            ("Panel", "class"),
            ("render", "method"),
        },
        {"toUpperCase", "upper"},
    ),
    "a.go": (
        "go",
        {8: [7], 12: [11], 18: [15], 24: [23], 22: []},
        {
            ("Limit", "constant"),
            ("Cart", "class"),
            ("Pricer", "interface"),
            ("Total", "method"),
            ("price", "function"),
        },
        {"price", "Println"},
    ),
    "A.java": (
        "java",
        {4: [3], 8: [3], 10: [3, 9], 16: [3, 13], 22: [3, 21]},
        {
            ("Cart", "class"),
            ("LIMIT", "constant"),
            ("toString", "method"),
            ("total", "method"),
            ("Pricer", "interface"),
            ("price", "method"),
        },
        {"ArrayList", "price"},
    ),
    "a.rs": (
        "rust",
        {6: [5], 13: [9, 10], 20: [18, 19], 25: [24]},
        {
            ("LIMIT", "constant"),
            ("Cart", "class"),
            ("Cart", "impl"),
            ("total", "method"),
            ("fmt", "method"),
            ("price", "function"),
        },
        {"iter", "map", "price", "sum", "write"},
    ),
    "a.rb": (
        "ruby",
        {4: [3], 8: [3, 6, 7], 13: [3, 6, 11], 18: [3, 6, 17], 20: [3, 6]},
        {
            ("Shop", "module"),
            ("LIMIT", "constant"),
            ("Cart", "class"),
            ("initialize", "method"),
            ("total", "method"),
            ("empty", "method"),
        },
        {"require", "sum", "price", "new"},
    ),
    "a.c": (
        "c",
        {6: [5], 11: [], 13: [11], 20: [16]},
        {("LIMIT", "constant"), ("cart", "class"), ("price", "function"), ("total", "function")},
        {"price", "printf"},
    ),
    "a.cpp": (
        "cpp",
        {6: [3, 5], 10: [3, 5, 7], 16: [3, 5], 20: [3, 19]},
        {("shop", "module"), ("Cart", "class"), ("total", "method"), ("price", "method")},
        {"price"},
    ),
    "a.cs": (
        "c_sharp",
        {7: [3, 5], 16: [3, 5, 11], 23: [3, 5, 21], 26: [3]},
        {
            ("Shop", "module"),
            ("Cart", "class"),
            ("Limit", "constant"),
            ("Count", "property"),
            ("Total", "method"),
            ("Price", "method"),
        },
        {"Price"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scopes_definitions_and_calls_match_the_hand_checked_sample(name: str) -> None:
    language, scopes, definitions, calls = CASES[name]
    text = (SAMPLES / name).read_text(encoding="utf-8")
    syntax = FileSyntax.from_source(f"src/{name}", text)
    assert syntax.language == language
    assert syntax.parsed
    lines = text.split("\n")
    for line, expected in scopes.items():
        got = syntax.enclosing(line)
        assert [n for n, _ in got] == expected, (name, line)
        assert all(signature == lines[n - 1] for n, signature in got)
    assert {(d.name, d.kind) for d in syntax.definitions()} == definitions
    assert {r.name for r in syntax.references() if r.kind == "call"} == calls


def test_a_c_function_is_named_on_its_name_line_and_spans_its_return_type() -> None:
    syntax = FileSyntax.from_source("a.c", (SAMPLES / "a.c").read_text(encoding="utf-8"))
    price = next(d for d in syntax.definitions() if d.name == "price")
    assert (price.line, price.start_line, price.end_line) == (11, 10, 14)


def test_a_java_method_starts_at_its_annotation() -> None:
    syntax = FileSyntax.from_source("A.java", (SAMPLES / "A.java").read_text(encoding="utf-8"))
    method = next(d for d in syntax.definitions() if d.name == "toString")
    assert (method.line, method.start_line, method.end_line) == (9, 8, 11)
