"""Git modes of the files a fix may edit, read from the head commit's trees.

A fix rewrites a file's content and must keep what git knows about the file:
an executable script stays ``100755``. A symlink (``120000``) or a submodule
(``160000``) is not a text file at all: the contents API follows a symlink to
its target, so an edit would replace the link with a copy of the target. Such
paths are never edited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from workers.github.models import TreeEntry

REGULAR: Final = "100644"
EXECUTABLE: Final = "100755"
SYMLINK: Final = "120000"
SUBMODULE: Final = "160000"
_SPECIAL: Final[Mapping[str, str]] = {SYMLINK: "a symlink", SUBMODULE: "a submodule"}


def tree_entries(
    get_tree: Callable[[str], tuple[TreeEntry, ...]], commit_sha: str, paths: Iterable[str]
) -> dict[str, TreeEntry | None]:
    """Each path's tree entry at ``commit_sha`` (mode, type, size); ``None`` when absent.

    Walks one tree per directory on the way (each read once), so the answer
    never depends on a recursive listing that GitHub may truncate.
    """
    trees: dict[str, dict[str, TreeEntry]] = {}

    def entries(directory: str, sha: str) -> dict[str, TreeEntry]:
        if directory not in trees:
            trees[directory] = {entry.path: entry for entry in get_tree(sha)}
        return trees[directory]

    found_entries: dict[str, TreeEntry | None] = {}
    for path in paths:
        directory, sha, found = "", commit_sha, None
        parts = path.split("/")
        for index, part in enumerate(parts):
            entry = entries(directory, sha).get(part)
            if entry is None:
                break
            if index == len(parts) - 1:
                found = entry
            elif entry.type != "tree":
                break
            directory, sha = f"{directory}{part}/", entry.sha
        found_entries[path] = found
    return found_entries


def file_modes(
    get_tree: Callable[[str], tuple[TreeEntry, ...]], commit_sha: str, paths: Iterable[str]
) -> dict[str, str | None]:
    """Each path's mode at ``commit_sha``; ``None`` when the path is not there."""
    return {
        path: entry.mode if entry is not None else None
        for path, entry in tree_entries(get_tree, commit_sha, paths).items()
    }


def special_kind(mode: str | None) -> str | None:
    """``"a symlink"`` or ``"a submodule"`` for a mode a fix must not edit, else ``None``."""
    return _SPECIAL.get(mode or "")
