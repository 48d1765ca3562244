"""The mirrors on a worker's disk: one bare, partial clone per repository under ``DATA_DIR``.

``Mirror.view(clone_url, sha, tokens)`` makes sure the commit and its tree's
blobs are present, then hands out a ``GitView`` at ``sha``:

- the repository is ``git init --bare`` once, as a partial clone of
  ``clone_url`` (the API's ``clone_url``, never derived from the API's address,
  so GitHub Enterprise Server works as is); the commit is fetched by SHA,
  shallow and with ``--filter=blob:none``; then the blobs of that one tree that
  are still missing are fetched in one request (a warm mirror fetches only
  what the push changed);
- the token comes from ``tokens(refresh)``; a fetch the server refuses for its
  credentials is tried once more with ``tokens(True)`` (a token that expired or
  was revoked mid-job);
- several workers share one disk: each repository has a fetch lock (``flock``,
  exclusive while fetching) and a use lock (shared while a view is open);
- ``max_bytes`` caps all mirrors together: after a fetch, the least recently
  used mirrors that nobody is fetching or reading are deleted until the total
  fits; a repository that does not fit alone is deleted and refused
  (``TooLarge``).

Every failure is a ``MirrorError`` (``workers.mirror.git``); the review then
reads through the API.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from codex_common.logs import get_logger
from workers.mirror.git import AuthRefused, GitFailed, MirrorError, TooLarge, run_git
from workers.mirror.view import GitView

log = get_logger("workers.mirror")

TokenSource = Callable[[bool], str]
"""``tokens(refresh) -> token``: the installation token, a fresh one when ``refresh``."""

_SHA: Final = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")
_STAMP: Final = "codex-last-used"


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[bool]:
    """Hold ``flock(mode)`` on ``path``; yields False when ``LOCK_NB`` was asked and refused."""
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, mode)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()


class Mirror:
    """All mirrors under ``root``; one instance per worker process, thread-safe."""

    def __init__(self, root: Path, *, max_bytes: int, timeout: float = 600.0) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.timeout = timeout

    def path_for(self, clone_url: str) -> Path:
        """The bare repository for ``clone_url``: readable name plus a hash of the URL."""
        digest = hashlib.sha256(clone_url.encode()).hexdigest()[:16]
        tail = "-".join(clone_url.rstrip("/").removesuffix(".git").split("/")[-2:])
        return self.root / f"{_SAFE.sub('_', tail)[:80]}-{digest}.git"

    def view(self, clone_url: str, sha: str, tokens: TokenSource) -> GitView:
        """The repository at ``sha``, fetched as needed; raises ``MirrorError``."""
        if not _SHA.match(sha):
            raise MirrorError(f"{sha!r} is not a commit SHA")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path_for(clone_url)
        with _locked(path.with_suffix(".fetch.lock"), fcntl.LOCK_EX):
            self._fetch(path, clone_url, sha, tokens)
            size = _size(path)
            if size > self.max_bytes:
                shutil.rmtree(path, ignore_errors=True)
                raise TooLarge(f"the repository takes {size} bytes, over MIRROR_MAX_BYTES")
            use = path.with_suffix(".use.lock").open("a+")
            fcntl.flock(use, fcntl.LOCK_SH)
            (path / _STAMP).touch()
        self._evict(keep=path)
        return GitView(path, sha, _release=lambda: _close(use))

    def _fetch(self, path: Path, clone_url: str, sha: str, tokens: TokenSource) -> None:
        if not (path / "HEAD").exists():
            shutil.rmtree(path, ignore_errors=True)  # a half-made one from a crash
            path.mkdir(parents=True)
            run_git(["init", "--bare", "--quiet", "."], cwd=path)
            for key, value in (
                ("core.repositoryformatversion", "1"),
                ("extensions.partialClone", "origin"),
                ("remote.origin.promisor", "true"),
                ("remote.origin.partialclonefilter", "blob:none"),
                ("gc.auto", "0"),
            ):
                run_git(["config", key, value], cwd=path)
        # The URL is set every time: a renamed repository keeps its mirror.
        run_git(["config", "remote.origin.url", clone_url], cwd=path)
        try:
            run_git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=path)
        except GitFailed:
            self._network(
                path,
                tokens,
                [
                    "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1",
                    "--filter=blob:none", "origin", sha,
                ],
            )  # fmt: skip
        listing = run_git(["rev-list", "--objects", "--missing=print", sha], cwd=path)
        missing = [line[1:] for line in listing.decode().splitlines() if line.startswith("?")]
        if missing:
            self._network(
                path,
                tokens,
                [
                    "-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags",
                    "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none",
                    "--stdin", "origin",
                ],
                stdin="".join(f"{oid}\n" for oid in missing).encode(),
            )  # fmt: skip
        run_git(["update-ref", "refs/codex/head", sha], cwd=path)
        log.info("mirror ready", mirror=path.name, sha=sha[:12], fetched_blobs=len(missing))

    def _network(
        self, path: Path, tokens: TokenSource, args: list[str], stdin: bytes | None = None
    ) -> None:
        """One git command that talks to the server; refused credentials get one fresh token."""
        try:
            run_git(args, cwd=path, token=tokens(False), stdin=stdin, timeout=self.timeout)
        except AuthRefused:
            log.info("mirror token refused: trying once with a fresh token", mirror=path.name)
            run_git(args, cwd=path, token=tokens(True), stdin=stdin, timeout=self.timeout)

    def _evict(self, keep: Path) -> None:
        """Delete least recently used mirrors until all fit under ``max_bytes``."""
        mirrors = [p for p in self.root.glob("*.git") if p.is_dir()]
        sizes = {p: _size(p) for p in mirrors}
        total = sum(sizes.values())
        if total <= self.max_bytes:
            return

        def last_used(p: Path) -> float:
            try:
                return (p / _STAMP).stat().st_mtime
            except OSError:
                return 0.0

        for victim in sorted((p for p in mirrors if p != keep), key=last_used):
            if total <= self.max_bytes:
                return
            with (
                _locked(victim.with_suffix(".fetch.lock"), fcntl.LOCK_EX | fcntl.LOCK_NB) as f,
                _locked(victim.with_suffix(".use.lock"), fcntl.LOCK_EX | fcntl.LOCK_NB) as u,
            ):
                if not (f and u):
                    continue  # being fetched or read: not now
                shutil.rmtree(victim, ignore_errors=True)
            total -= sizes[victim]
            log.info("mirror evicted", mirror=victim.name, freed_bytes=sizes[victim])


InstallationTokens = Callable[[int, str, bool], str]
"""``(installation_id, repository, refresh) -> token``, e.g. ``GitHubApp.installation_token``."""


@dataclass(frozen=True, slots=True)
class RepoMirrors:
    """The mirror and where its tokens come from: what a review needs to open a view."""

    mirror: Mirror
    tokens: InstallationTokens

    def view(self, installation_id: int, repository: str, clone_url: str, sha: str) -> GitView:
        """``repository`` at ``sha`` from ``clone_url``; raises ``MirrorError``."""
        return self.mirror.view(
            clone_url, sha, lambda refresh: self.tokens(installation_id, repository, refresh)
        )


def _close(handle: IO[str]) -> None:
    handle.close()  # closing the descriptor releases its flock


__all__ = [
    "AuthRefused",
    "InstallationTokens",
    "Mirror",
    "MirrorError",
    "RepoMirrors",
    "TokenSource",
    "TooLarge",
]
