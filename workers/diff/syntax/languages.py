"""Which grammar reads a file, and the parser and queries for it, loaded once per process.

A language is named by its query file, ``queries/<language>.scm``; its grammar
comes from the official ``tree-sitter-<language>`` wheel. ``grammar(name)``
imports the wheel, compiles the query and builds the parser on first use and
returns the same objects afterwards. A parser is not thread-safe: ``grammar``
hands one to each thread.
"""

from __future__ import annotations

import importlib
import posixpath
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from tree_sitter import Language, Parser, Query

# Extension -> language. ``.h`` goes to C++, whose grammar also reads nearly all C headers.
_BY_EXTENSION: Final = {
    **dict.fromkeys((".py", ".pyi"), "python"),
    **dict.fromkeys((".js", ".jsx", ".mjs", ".cjs"), "javascript"),
    **dict.fromkeys((".ts", ".mts", ".cts"), "typescript"),
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    **dict.fromkeys((".rb", ".rake", ".gemspec"), "ruby"),
    ".c": "c",
    **dict.fromkeys((".h", ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".ipp"), "cpp"),
    ".cs": "c_sharp",
}
LANGUAGES: Final = frozenset(_BY_EXTENSION.values())
EXTENSIONS: Final = frozenset(_BY_EXTENSION)

_PACKAGE: Final = "workers.diff.syntax"
# Language -> (wheel module, function returning the grammar, query file).
_SOURCES: Final = {
    "python": ("tree_sitter_python", "language", "python"),
    "javascript": ("tree_sitter_javascript", "language", "javascript"),
    "typescript": ("tree_sitter_typescript", "language_typescript", "typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx", "typescript"),
    "go": ("tree_sitter_go", "language", "go"),
    "java": ("tree_sitter_java", "language", "java"),
    "rust": ("tree_sitter_rust", "language", "rust"),
    "ruby": ("tree_sitter_ruby", "language", "ruby"),
    "c": ("tree_sitter_c", "language", "c"),
    "cpp": ("tree_sitter_cpp", "language", "cpp"),
    "c_sharp": ("tree_sitter_c_sharp", "language", "c_sharp"),
}


def language_of(path: str) -> str | None:
    """The language of ``path`` by its extension, or ``None`` when no grammar reads it."""
    return _BY_EXTENSION.get(posixpath.splitext(path)[1].lower())


@dataclass(frozen=True, slots=True)
class Grammar:
    """One language's compiled queries and the calling thread's parser.

    ``tags`` captures ``@definition.<kind>`` and ``@reference.<kind>`` nodes,
    each with its ``@name``; ``errors`` captures the parser's ``ERROR`` nodes.
    """

    name: str
    language: Language
    tags: Query
    errors: Query
    _local: threading.local

    def parser(self) -> Parser:
        """This thread's parser for the language."""
        parser: Parser | None = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = Parser(self.language)
        return parser


@cache
def grammar(name: str) -> Grammar:
    """The grammar of language ``name`` (one of ``LANGUAGES``), built on first use."""
    module_name, function, query_file = _SOURCES[name]
    build: Callable[[], object] = getattr(importlib.import_module(module_name), function)
    language = Language(build())
    text = (
        resources.files("workers.diff.syntax").joinpath("queries", f"{query_file}.scm").read_text()
    )
    return Grammar(
        name, language, Query(language, text), Query(language, "(ERROR) @error"), threading.local()
    )
