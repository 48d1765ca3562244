"""Which of a fix's candidate files are shown to the model, and why the others are not.

Decided before any content is read, from the pinned head's tree (each path's
mode and size in bytes, ``workers.commands.modes.tree_entries``), so only the
files that will be shown are fetched. In order:

1. ``named`` files (the thread's, the findings', the request's) are shown
   whole whenever they are under the per-file cap, budget or not;
2. ``pointed`` files, strongest first, while the budget lasts;
3. ``others``, smallest first, while the budget lasts.

A file left out says why (``LeftOut.reason``): over the per-file cap (with its
size), past the budget, binary (known from the PR's file list or its name, or
found so when read), missing at the head, a symlink or submodule (never
edited), a directory, or named by the request but in neither the PR nor the
repository.

Only shown files may be edited, and only the ones the request is about: the
named files (the thread's, the findings', the request's) when there are
any, else the files its words point at, else every shown file. The others
are shown as context, so text in the PR cannot widen what a commit touches.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from workers.commands.modes import SUBMODULE, SYMLINK
from workers.commands.target import FixTarget
from workers.github.models import PullFile, TreeEntry

#: Bytes of one file, as stored, above which it is never shown.
MAX_FILE_BYTES: Final = 60_000
#: Bytes of all files shown beyond the named ones.
MAX_TOTAL_FILE_BYTES: Final = 160_000

_BINARY_SUFFIXES: Final = frozenset(
    {
        "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "pdf", "zip",
        "gz", "tgz", "bz2", "xz", "7z", "jar", "war", "whl", "egg", "so", "dll", "dylib",
        "exe", "bin", "o", "a", "pyc", "class", "woff", "woff2", "ttf", "otf", "eot",
        "mp3", "mp4", "wav", "ogg", "mov", "avi", "sqlite", "db", "psd", "xcf",
    }
)  # fmt: skip

LeftOutReason = Literal[
    "budget", "too_large", "binary", "missing", "not_found", "directory", "symlink", "submodule"
]


@dataclass(frozen=True, slots=True)
class Caps:
    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = MAX_TOTAL_FILE_BYTES


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A candidate not shown: ``size`` in bytes when the tree gave one."""

    path: str
    reason: LeftOutReason
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """``shown`` in prompt order (the files to read); ``editable`` the shown files a fix
    may change (``None``: all of them)."""

    shown: tuple[str, ...]
    left_out: tuple[LeftOut, ...]
    caps: Caps = Caps()
    only: tuple[str, ...] | None = None

    @property
    def editable(self) -> tuple[str, ...]:
        if self.only is None:
            return self.shown
        return tuple(path for path in self.shown if path in self.only)

    def found_binary(self, paths: Iterable[str]) -> Selection:
        """The selection once ``paths`` (shown ones, read) turned out binary."""
        binary = [path for path in paths if path in self.shown]
        if not binary:
            return self
        return Selection(
            shown=tuple(path for path in self.shown if path not in binary),
            left_out=(*(LeftOut(path, "binary") for path in binary), *self.left_out),
            caps=self.caps,
            only=self.only,
        )

    def left_out_of(self, paths: Iterable[str]) -> tuple[LeftOut, ...]:
        """Why each of ``paths`` that is not shown was left out, in ``paths`` order."""
        by_path = {item.path: item for item in self.left_out}
        return tuple(by_path[path] for path in paths if path in by_path)


def likely_binary(files: Sequence[PullFile]) -> frozenset[str]:
    """PR files that are binary by their name, or by GitHub giving them no patch and no
    line counts (how it lists binary files; ``select_files`` still shows such a file
    when the tree says it is empty)."""
    found = {
        file.filename
        for file in files
        if _suffix(file.filename) in _BINARY_SUFFIXES
        or (
            file.patch is None
            and file.additions == 0
            and file.deletions == 0
            and file.status in ("added", "modified", "changed")
        )
    }
    return frozenset(found)


def select_files(
    target: FixTarget,
    entries: Mapping[str, TreeEntry | None],
    binary: Collection[str] = frozenset(),
    caps: Caps = Caps(),
) -> Selection:
    """Choose the files to show for ``target`` (see the module doc).

    ``entries`` maps every candidate path (and ``target.elsewhere``) to its
    tree entry at the head, ``None`` when it is not there.
    """
    shown: list[str] = []
    left_out: list[LeftOut] = []
    budget = caps.total_bytes

    def size_of(path: str) -> int:
        entry = entries.get(path)
        return entry.size if entry is not None and entry.size is not None else 0

    def unshowable(path: str) -> LeftOut | None:
        entry = entries.get(path)
        if entry is None:
            return LeftOut(path, "missing")
        if entry.mode == SYMLINK:
            return LeftOut(path, "symlink")
        if entry.mode == SUBMODULE or entry.type == "commit":
            return LeftOut(path, "submodule")
        if entry.type == "tree":
            return LeftOut(path, "directory")
        if (path in binary and entry.size != 0) or _suffix(path) in _BINARY_SUFFIXES:
            return LeftOut(path, "binary", entry.size)
        if size_of(path) > caps.file_bytes:
            return LeftOut(path, "too_large", entry.size)
        return None

    for path in target.named:
        reason = unshowable(path)
        if reason is None:
            shown.append(path)
            budget -= size_of(path)
        else:
            left_out.append(reason)
    others = sorted(target.others, key=lambda path: (size_of(path), path))
    for path in (*target.pointed, *others):
        reason = unshowable(path)
        if reason is None and size_of(path) > budget:
            reason = LeftOut(path, "budget", size_of(path))
        if reason is None:
            shown.append(path)
            budget -= size_of(path)
        else:
            left_out.append(reason)
    left_out.extend(
        LeftOut(path, "directory" if entries.get(path) is not None else "not_found")
        for path in target.elsewhere
    )
    return Selection(tuple(shown), tuple(left_out), caps, target.named or target.pointed or None)


def _suffix(path: str) -> str:
    base = posixpath.basename(path)
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


def describe(item: LeftOut, caps: Caps = Caps()) -> str:
    """Why ``item`` is not shown, as the rest of a sentence that starts with its path."""
    size = f"{item.size:,} bytes" if item.size is not None else "size unknown"
    if item.reason == "too_large":
        return f"is too large to show: {size}, over the {caps.file_bytes:,}-byte limit for one file"
    if item.reason == "budget":
        return (
            f"was left out for the budget: the files shown before it used up the "
            f"{caps.total_bytes:,} bytes allowed ({size})"
        )
    return {
        "binary": "is a binary file",
        "missing": "does not exist at the PR head",
        "not_found": "is not in this PR and not in the repository",
        "directory": "is a directory, not a file",
        "symlink": "is a symlink",
        "submodule": "is a submodule",
    }[item.reason]
