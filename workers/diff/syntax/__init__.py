"""Language structure of a source file: enclosing scopes, definitions and references.

Pure: no network, no Redis. Grammars are the official tree-sitter wheels,
loaded once per process; the queries that name definitions and references are
data files, ``queries/<language>.scm``. Files without a grammar get enclosing
scopes from an indentation scan (``heuristic``).
"""

from workers.diff.syntax.heuristic import MAX_DEPTH, Scope
from workers.diff.syntax.languages import EXTENSIONS, LANGUAGES, language_of
from workers.diff.syntax.tree import Definition, FileSyntax, Reference

__all__ = [
    "EXTENSIONS",
    "LANGUAGES",
    "MAX_DEPTH",
    "Definition",
    "FileSyntax",
    "Reference",
    "Scope",
    "language_of",
]
