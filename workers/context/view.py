"""A repository at one commit as the context finder reads it: list, grep, read.

``RepoView`` is the only way ``workers.context`` looks at a repository, so the
same pure selection runs over a worker's mirror at the reviewed head
(``workers.mirror.GitView``) and over a directory checkout
(``workers.mirror.DirView``, for ``codex-bot review-diff --repo``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class GrepHit:
    """One matching line: ``line`` is 1-based, ``text`` without its line break."""

    path: str
    line: int
    text: str


class RepoView(Protocol):
    """A repository's files at one commit. Answers only; errors become empty answers."""

    @property
    def scope(self) -> str:
        """Where ``grep`` looks, in words for the model ("the whole repository at ...")."""
        ...

    def paths(self) -> tuple[str, ...]:
        """Every file path, sorted."""
        ...

    def read(self, paths: Sequence[str]) -> dict[str, str]:
        """The text of those of ``paths`` that exist (binary and huge files left out)."""
        ...

    def grep(
        self,
        words: Sequence[str],
        *,
        limit: int,
        word: bool = True,
        paths: Sequence[str] = (),
        regex: bool = False,
    ) -> list[GrepHit]:
        """Lines holding any of ``words`` literally (as whole words when ``word``), in
        path and line order, at most ``limit``; ``paths`` narrows the search.

        ``regex`` reads ``words`` as Perl-compatible expressions instead: only for
        patterns built from checked identifiers, never for text from the model.
        """
        ...
