"""A repository of the emulator: a real bare git repository on disk, driven by the git CLI.

Every diff the emulator serves comes from ``git diff`` here, so patches, hunks and file
statuses are exactly what git (and so GitHub) computes.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Emulator",
    "GIT_AUTHOR_EMAIL": "emulator@example.invalid",
    "GIT_COMMITTER_NAME": "Emulator",
    "GIT_COMMITTER_EMAIL": "emulator@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class GitError(RuntimeError):
    """A git command failed (unknown object, bad ref, ...)."""


@dataclass(frozen=True, slots=True)
class Hunk:
    """Commentable line numbers of one hunk, per side."""

    left: frozenset[int]
    right: frozenset[int]


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of a diff, shaped like an entry of GitHub's ``files`` arrays."""

    filename: str
    status: str
    previous_filename: str | None
    additions: int
    deletions: int
    patch: str | None
    binary: bool
    sha: str | None
    hunks: tuple[Hunk, ...]


@dataclass(frozen=True, slots=True)
class GitRepo:
    path: Path

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "--bare", "--quiet", "--initial-branch=main", ".")
        return repo

    def git(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> bytes:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            input=stdin,
            capture_output=True,
            env={**os.environ, **_ENV, **(env or {})},
            check=False,
        )
        if result.returncode != 0:
            raise GitError(result.stderr.decode(errors="replace").strip())
        return result.stdout

    def text(self, *args: str, stdin: bytes | None = None) -> str:
        return self.git(*args, stdin=stdin).decode().strip()

    # --- objects -------------------------------------------------------------------------
    def write_blob(self, content: bytes) -> str:
        return self.text("hash-object", "-w", "--stdin", stdin=content)

    def object_type(self, sha: str) -> str | None:
        try:
            return self.text("cat-file", "-t", sha)
        except GitError:
            return None

    def read_blob(self, sha: str) -> bytes:
        return self.git("cat-file", "blob", sha)

    def build_tree(
        self, base_tree: str | None, entries: Mapping[str, tuple[str, str] | None]
    ) -> str:
        """Apply ``path -> (mode, blob sha)`` (None deletes) to ``base_tree``; return the tree."""
        index = self.path / f"index-{os.getpid()}-{id(entries)}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if base_tree:
                self.git("read-tree", base_tree, env=env)
            else:
                self.git("read-tree", "--empty", env=env)
            # --index-info works in a bare repository; mode 0 removes the path. Records
            # end in NUL (-z): a path may hold a newline, as git allows.
            lines = [
                f"0 {'0' * 40}\t{path}" if entry is None else f"{entry[0]} {entry[1]}\t{path}"
                for path, entry in entries.items()
            ]
            self.git(
                "update-index", "-z", "--index-info", stdin="\0".join(lines).encode() + b"\0",
                env=env,
            )  # fmt: skip
            return self.git("write-tree", env=env).decode().strip()
        finally:
            index.unlink(missing_ok=True)

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.text(*args, stdin=message.encode())

    def commit_files(
        self, parent: str | None, files: Mapping[str, bytes | None], message: str
    ) -> str:
        base_tree = self.tree_of(parent) if parent else None
        entries: dict[str, tuple[str, str] | None] = {
            path: None if data is None else ("100644", self.write_blob(data))
            for path, data in files.items()
        }
        tree = self.build_tree(base_tree, entries)
        return self.commit_tree(tree, [parent] if parent else [], message)

    def tree_of(self, commit: str) -> str:
        return self.text("rev-parse", f"{commit}^{{tree}}")

    def commit_info(self, sha: str) -> dict[str, object]:
        raw = self.text("show", "-s", "--format=%T%n%P%n%an%n%ae%n%aI%n%B", sha)
        tree, parents, name, email, date, *message = raw.split("\n")
        return {
            "tree": tree,
            "parents": parents.split() if parents else [],
            "author": {"name": name, "email": email, "date": date},
            "message": "\n".join(message).strip(),
        }

    def ls_tree(self, tree: str, recursive: bool) -> list[dict[str, object]]:
        args = ["ls-tree", "-l", "-z"] + (["-r", "-t"] if recursive else []) + [tree]
        out: list[dict[str, object]] = []
        for row in self.git(*args).decode().split("\0"):
            if not row:
                continue
            meta, path = row.split("\t", 1)
            mode, kind, sha, size = meta.split()
            item: dict[str, object] = {"path": path, "mode": mode, "type": kind, "sha": sha}
            if kind == "blob":
                item["size"] = int(size)
            out.append(item)
        return out

    def file_at(self, ref: str, path: str) -> bytes | None:
        try:
            return self.git("cat-file", "blob", f"{ref}:{path}")
        except GitError:
            return None

    # --- refs ----------------------------------------------------------------------------
    def ref(self, name: str) -> str | None:
        try:
            return self.text("rev-parse", "--verify", "--quiet", f"refs/heads/{name}^{{commit}}")
        except GitError:
            return None

    def set_ref(self, name: str, sha: str) -> None:
        self.git("update-ref", f"refs/heads/{name}", sha)

    def resolve(self, ref: str) -> str | None:
        try:
            return self.text("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.git("merge-base", "--is-ancestor", ancestor, descendant)
        except GitError:
            return False
        return True

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.text("merge-base", a, b)
        except GitError:
            return None

    def rev_list(self, base: str, head: str) -> list[str]:
        out = self.text("rev-list", "--reverse", f"{base}..{head}")
        return out.split() if out else []

    def fetch(self, other: GitRepo, branch: str, into: str) -> None:
        self.git("fetch", "--quiet", "--no-tags", str(other.path), f"+refs/heads/{branch}:{into}")

    # --- diffs ---------------------------------------------------------------------------
    def diff(self, base: str, head: str, max_patch_bytes: int) -> tuple[FileDiff, ...]:
        """Files changed from ``base`` to ``head`` (two-dot; callers pass the merge base)."""
        # Unquoted names (GitHub lists them as they are), non-ASCII ones included.
        raw = self.git(
            "-c", "core.quotePath=false",
            "diff", "--no-color", "--no-ext-diff", "-M", "--full-index", base, head,
        ).decode(errors="replace")  # fmt: skip
        files: list[FileDiff] = []
        chunks = re.split(r"^(?=diff --git )", raw, flags=re.MULTILINE)
        for chunk in chunks:
            if chunk.startswith("diff --git "):
                files.append(_parse_file(chunk, max_patch_bytes))
        return tuple(files)


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(name: str) -> str:
    """A path as git prints it in a diff header, without git's C-style quoting (git quotes
    a path holding a newline, a quote, a backslash or a non-ASCII byte)."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        elif body[i] == "\\" and body[i + 1 : i + 2] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.extend(body[i].encode())
            i += 1
    return out.decode(errors="replace")


def _parse_file(chunk: str, max_patch_bytes: int) -> FileDiff:
    lines = chunk.split("\n")
    header: list[str] = []
    body_start = len(lines)
    for i, line in enumerate(lines):
        if line.startswith("@@"):
            body_start = i
            break
        header.append(line)
    status = "modified"
    old_path = new_path = None
    binary = False
    new_blob: str | None = None
    for line in header:
        if line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "removed"
        elif line.startswith("rename from "):
            status, old_path = "renamed", _unquote(line[len("rename from ") :])
        elif line.startswith("rename to "):
            new_path = _unquote(line[len("rename to ") :])
        elif line.startswith(("--- a/", '--- "a/')):
            old_path = old_path or _unquote(line[len("--- ") :].rstrip("\t"))[len("a/") :]
        elif line.startswith(("+++ b/", '+++ "b/')):
            # git ends a name holding a space with a tab here
            new_path = _unquote(line[len("+++ ") :].rstrip("\t"))[len("b/") :]
        elif line.startswith("Binary files"):
            binary = True
        elif line.startswith("index "):
            new_blob = line.split()[1].split("..")[1]
    if new_path is None or old_path is None:
        # Binary or mode-only diffs carry no ---/+++ lines: read the names from the first line.
        match = re.match(r'diff --git ("a/.*"|a/.*) ("b/.*"|b/.*)$', header[0])
        assert match is not None
        old_path = old_path or _unquote(match.group(1))[len("a/") :]
        new_path = new_path or _unquote(match.group(2))[len("b/") :]
    filename = old_path if status == "removed" else new_path
    body = lines[body_start:]
    if body and body[-1] == "":
        body = body[:-1]
    hunks: list[Hunk] = []
    additions = deletions = 0
    left: set[int] = set()
    right: set[int] = set()
    old_no = new_no = 0
    started = False
    for line in body:
        match = _HUNK.match(line)
        if match:
            if started:
                hunks.append(Hunk(frozenset(left), frozenset(right)))
            left, right = set(), set()
            started = True
            old_no, new_no = int(match.group(1)), int(match.group(3))
            continue
        if line.startswith("+"):
            additions += 1
            right.add(new_no)
            new_no += 1
        elif line.startswith("-"):
            deletions += 1
            left.add(old_no)
            old_no += 1
        elif line.startswith(" "):
            left.add(old_no)
            right.add(new_no)
            old_no += 1
            new_no += 1
    if started:
        hunks.append(Hunk(frozenset(left), frozenset(right)))
    patch: str | None = "\n".join(body) if body else None
    if binary or (patch is not None and len(patch.encode()) > max_patch_bytes):
        patch = None
        hunks = []
    if status == "removed":
        new_blob = "0" * 40
    return FileDiff(
        filename=filename,
        status=status,
        previous_filename=old_path if status == "renamed" else None,
        additions=additions,
        deletions=deletions,
        patch=patch,
        binary=binary,
        sha=new_blob,
        hunks=tuple(hunks),
    )
