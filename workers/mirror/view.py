"""The two ``RepoView``s: a mirror at a commit (``GitView``) and a directory (``DirView``).

Both search with ``git grep`` (fixed strings, never a regular expression, for
words that may come from the model; a Perl-compatible expression only for
patterns built from checked identifiers, where one alternation is far faster
than many ``-e`` words; binary files skipped) and stop reading its output at
the limit. ``GitView`` reads many files in one ``git cat-file
--batch`` process; it never fetches (the mirror fetched the commit's blobs
before handing out the view), so a read needs no token.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from workers.context.view import GrepHit
from workers.mirror.git import MirrorError, git_env, run_git

MAX_FILE_BYTES: Final = 1_000_000
GREP_SECONDS: Final = 30.0
_SKIP_DIRS: Final = frozenset({".git", "node_modules", "__pycache__", ".venv", ".tox"})


def _grep(
    cmd: list[str], cwd: Path, prefix: str, limit: int, keep: Callable[[str], bool]
) -> list[GrepHit]:
    """Run a ``git grep -z -n`` command and parse at most ``limit`` hits."""
    hits: list[GrepHit] = []
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env()
        )
    except FileNotFoundError:
        return hits
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            parts = raw.rstrip(b"\n").split(b"\0", 2)
            if len(parts) != 3:
                continue
            path = parts[0].decode("utf-8", "replace").removeprefix(prefix)
            if not keep(path):
                continue
            try:
                number = int(parts[1])
            except ValueError:
                continue
            hits.append(GrepHit(path, number, parts[2].decode("utf-8", "replace")))
            if len(hits) >= limit:
                break
    finally:
        proc.kill()
        proc.stdout.close()
        proc.wait(timeout=GREP_SECONDS)
    return hits


def _grep_args(words: Sequence[str], word: bool, regex: bool) -> list[str]:
    args = ["grep", "-z", "-n", "-I", "-P" if regex else "-F", "--no-color"]
    if word:
        args.append("-w")
    for item in words:
        args += ["-e", item]
    return args


@dataclass
class GitView:
    """The mirror's repository at ``sha``; ``close`` lets the mirror evict it again."""

    path: Path
    sha: str
    _release: Callable[[], None] | None = field(default=None, repr=False)
    _paths: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def scope(self) -> str:
        # The same words for every commit: tool descriptions are part of the prompt
        # prefix the model's cache shares across reviews.
        return "the whole repository at the reviewed head commit"

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def paths(self) -> tuple[str, ...]:
        if self._paths is None:
            try:
                out = run_git(["ls-tree", "-r", "-z", "--name-only", self.sha], cwd=self.path)
            except MirrorError:
                return ()
            self._paths = tuple(sorted(p.decode("utf-8", "replace") for p in out.split(b"\0") if p))
        return self._paths

    def read(self, paths: Sequence[str]) -> dict[str, str]:
        wanted = [p for p in dict.fromkeys(paths) if "\n" not in p]
        if not wanted:
            return {}
        request = "".join(f"{self.sha}:{p}\n" for p in wanted).encode()
        try:
            out = run_git(["cat-file", "--batch"], cwd=self.path, stdin=request)
        except MirrorError:
            return {}
        return _parse_batch(out, wanted)

    def grep(
        self,
        words: Sequence[str],
        *,
        limit: int,
        word: bool = True,
        paths: Sequence[str] = (),
        regex: bool = False,
    ) -> list[GrepHit]:
        if not words or limit <= 0:
            return []
        cmd = ["git", *_grep_args(words, word, regex), self.sha, "--", *paths]
        return _grep(cmd, self.path, f"{self.sha}:", limit, lambda _: True)


def _parse_batch(out: bytes, wanted: Sequence[str]) -> dict[str, str]:
    """Parse ``git cat-file --batch``: ``<oid> <type> <size>``, the data, or ``<name> missing``."""
    texts: dict[str, str] = {}
    offset = 0
    for path in wanted:
        end = out.find(b"\n", offset)
        if end < 0:
            break
        header = out[offset:end].split(b" ")
        offset = end + 1
        if len(header) != 3:
            continue  # "<name> missing" or "ambiguous"
        size = int(header[2])
        data = out[offset : offset + size]
        offset += size + 1
        if header[1] == b"blob" and size <= MAX_FILE_BYTES and b"\0" not in data[:8000]:
            texts[path] = data.decode("utf-8", "replace")
    return texts


@dataclass
class DirView:
    """A checkout of the head in a directory (``codex-bot review-diff --repo DIR``)."""

    root: Path
    _paths: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def scope(self) -> str:
        return "the whole repository at the reviewed head commit (a local checkout)"

    def paths(self) -> tuple[str, ...]:
        if self._paths is None:
            found: list[str] = []
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                rel = Path(folder).relative_to(self.root)
                found += [(rel / name).as_posix() for name in files]
            self._paths = tuple(sorted(found))
        return self._paths

    def read(self, paths: Sequence[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        root = self.root.resolve()
        for path in dict.fromkeys(paths):
            file = (root / path).resolve()
            if not file.is_relative_to(root) or not file.is_file():
                continue
            if file.stat().st_size > MAX_FILE_BYTES:
                continue
            data = file.read_bytes()
            if b"\0" not in data[:8000]:
                texts[path] = data.decode("utf-8", "replace")
        return texts

    def grep(
        self,
        words: Sequence[str],
        *,
        limit: int,
        word: bool = True,
        paths: Sequence[str] = (),
        regex: bool = False,
    ) -> list[GrepHit]:
        if not words or limit <= 0:
            return []
        cmd = ["git", *_grep_args(words, word, regex), "--no-index", "--", *(paths or ["."])]
        return _grep(cmd, self.root, "./", limit, lambda p: not set(p.split("/")) & _SKIP_DIRS)
