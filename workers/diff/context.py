"""Find the function and class that enclose a line of a file, for the review planner.

``FileScopes.from_content(path, content)`` answers ``enclosing(line)``: the
chain of signature lines, outermost first, as ``(line_number, text)`` with
1-based new-file numbers, at most ``MAX_DEPTH`` deep. Languages with a grammar
(``workers.diff.syntax.LANGUAGES``) are parsed when the ``FileScopes`` is
built; the planner builds one per file of a plan, on its first question, so a
file is parsed at most once per plan. Other languages get the indentation and
brace scan; prose, markup and data files get no scopes. The answer is
orientation for the reader, never an anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.diff.syntax import MAX_DEPTH, FileSyntax, Scope

__all__ = ["MAX_DEPTH", "FileScopes", "Scope"]


@dataclass(frozen=True, slots=True)
class FileScopes:
    """Enclosing-scope lookup for one file's head content (its parse tree included)."""

    syntax: FileSyntax

    @classmethod
    def from_content(cls, path: str, content: str) -> FileScopes:
        return cls(FileSyntax.from_source(path, content))

    def enclosing(self, line: int) -> tuple[Scope, ...]:
        """Signature lines of the scopes containing ``line``, outermost first."""
        return self.syntax.enclosing(line)
