"""Parse speed per language and how often Python's enclosing scopes agree with ``ast``.

Usage: python bench/syntax.py [rich requests flask fastapi django]

For every corpus release tree (built on first use in ``.cache/corpus``) it
parses each file with a grammar and prints, per language, files, size and
parse time per KB (parse plus the definitions query, best of ``REPEATS``).

For Python it then compares ``FileSyntax.enclosing(line)`` with the chain of
``def``/``async def``/``class`` nodes from the standard library's ``ast``
(those whose ``lineno`` is above the line and whose ``end_lineno`` is at or
below it, innermost ``MAX_DEPTH``), on two sets of lines: the lines where an
``ast`` statement starts, and every line up to the last non-blank one. It
does the same for the indentation scan the parser replaces, for comparison.
Files ``ast`` cannot parse are left out. Other languages have no reference
parser here: their scopes are checked by hand on the samples in
``tests/diff/test_syntax_languages.py``.
"""

from __future__ import annotations

import ast
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import CORPUS, corpus_trees
from workers.diff.syntax import MAX_DEPTH, FileSyntax, language_of
from workers.diff.syntax.heuristic import IndentScopes

REPEATS = 3


def ast_chains(text: str) -> dict[int, tuple[int, ...]] | None:
    """Line -> signature lines of its enclosing scopes per ``ast``; ``None`` if unparsable."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    lines = text.split("\n")
    total = max((n for n, line in enumerate(lines, 1) if line.strip()), default=1)
    chains: dict[int, list[int]] = defaultdict(list)
    for start, end in spans:
        for line in range(start + 1, min(end, total) + 1):
            chains[line].append(start)
    return {line: tuple(sorted(chains.get(line, []))[-MAX_DEPTH:]) for line in range(1, total + 1)}


def statement_lines(text: str) -> set[int]:
    return {node.lineno for node in ast.walk(ast.parse(text)) if isinstance(node, ast.stmt)}


def main(keys: list[str]) -> None:
    files: list[tuple[str, str]] = []
    for key in keys:
        for root in corpus_trees(key):
            for path in sorted(root.rglob("*")):
                if path.is_file() and language_of(path.name) is not None:
                    text = path.read_bytes().decode("utf-8", "replace")
                    files.append((str(path.relative_to(root)), text))
    print(f"{len(files)} files with a grammar in {', '.join(keys)}\n")
    print("| language | files | KB | parse + definitions, ms per KB | not parsed |")
    print("|---|---|---|---|---|")
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, text in files:
        by_language[language_of(path) or ""].append((path, text))
    for language, group in sorted(by_language.items()):
        size = sum(len(text.encode()) for _, text in group) / 1024
        best = float("inf")
        unparsed = 0
        for _ in range(REPEATS):
            start = time.perf_counter()
            parsed = [FileSyntax.from_source(path, text) for path, text in group]
            for syntax in parsed:
                syntax.definitions()
            best = min(best, time.perf_counter() - start)
            unparsed = sum(not syntax.parsed for syntax in parsed)
            del parsed
        print(f"| {language} | {len(group)} | {size:.0f} | {best * 1000 / size:.3f} | {unparsed} |")
    agreement(by_language.get("python", []))


def agreement(files: list[tuple[str, str]]) -> None:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    skipped = 0
    for path, text in files:
        expected = ast_chains(text)
        if expected is None:
            skipped += 1
            continue
        statements = statement_lines(text)
        syntax = FileSyntax.from_source(path, text)
        scan = IndentScopes.from_content(path, text)
        for line, want in expected.items():
            got = {
                "parser": tuple(n for n, _ in syntax.enclosing(line)),
                "indentation scan": tuple(n for n, _ in scan.enclosing(line)),
            }
            for method, chain in got.items():
                for lines, included in (("statement lines", line in statements), ("all", True)):
                    if included:
                        tally = counts[f"{method}, {lines}"]
                        tally[0] += chain == want
                        tally[1] += 1
    print(f"\nPython enclosing scopes vs ast ({len(files) - skipped} files, {skipped} left out)\n")
    print("| method, lines | agree | of | % |")
    print("|---|---|---|---|")
    for name, (agree, total) in sorted(counts.items()):
        print(f"| {name} | {agree} | {total} | {100 * agree / max(total, 1):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or list(CORPUS))
