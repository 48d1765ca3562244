"""Value objects the GitHub client returns: frozen, slotted, built by ``from_dict`` from
GitHub's JSON, so review and fix code can be tested with plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

Side = Literal["LEFT", "RIGHT"]


def _login(user: Any) -> str:
    return str(user.get("login", "")) if isinstance(user, Mapping) else ""


def _optional_str(value: Any) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class AppIdentity:
    """Who a client acts as: the App (``GET /app``), or the user of a personal token
    (``GET /user``, then ``login`` is set and ``slug`` is the same login)."""

    id: int
    slug: str
    login: str | None = None

    @property
    def bot_login(self) -> str:
        """The login its reviews and comments carry."""
        return self.login if self.login is not None else f"{self.slug}[bot]"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=int(data["id"]), slug=str(data["slug"]))

    @classmethod
    def from_user(cls, data: Mapping[str, Any]) -> Self:
        login = str(data["login"])
        return cls(id=int(data["id"]), slug=login, login=login)


@dataclass(frozen=True, slots=True)
class PullRequest:
    number: int
    state: str
    draft: bool
    title: str
    body: str
    author_login: str
    author_type: str
    head_sha: str
    head_ref: str
    head_repo: str | None  # None when the fork was deleted
    base_sha: str
    base_ref: str
    base_repo: str
    maintainer_can_modify: bool
    html_url: str
    commits: int
    changed_files: int
    # The repository's default branch (``base.repo.default_branch``); None when the
    # payload leaves it out. Trusted configuration is read from this branch only.
    default_branch: str | None = None
    # The author's relation to the repository (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR,
    # NONE, ...); never grants access on its own.
    author_association: str | None = None
    # Where git fetches the base repository (``base.repo.clone_url``; on Enterprise
    # Server another host or path than the API's). None when the payload leaves it out.
    clone_url: str | None = None

    @property
    def is_fork(self) -> bool:
        return self.head_repo != self.base_repo

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        head, base = data["head"], data["base"]
        user = data.get("user") or {}
        return cls(
            number=int(data["number"]),
            state=str(data["state"]),
            draft=bool(data.get("draft", False)),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            author_login=_login(user),
            author_type=str(user.get("type", "User")),
            head_sha=str(head["sha"]),
            head_ref=str(head["ref"]),
            head_repo=str(head["repo"]["full_name"]) if head.get("repo") else None,
            base_sha=str(base["sha"]),
            base_ref=str(base["ref"]),
            base_repo=str(base["repo"]["full_name"]),
            maintainer_can_modify=bool(data.get("maintainer_can_modify", False)),
            html_url=str(data.get("html_url", "")),
            commits=int(data.get("commits", 0)),
            changed_files=int(data.get("changed_files", 0)),
            default_branch=_optional_str(base["repo"].get("default_branch")),
            author_association=_optional_str(data.get("author_association")),
            clone_url=_optional_str(base["repo"].get("clone_url")),
        )


@dataclass(frozen=True, slots=True)
class PullFile:
    filename: str
    status: str
    previous_filename: str | None
    patch: str | None  # None for binary files and patches GitHub considers too large
    additions: int
    deletions: int
    sha: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            filename=str(data["filename"]),
            status=str(data["status"]),
            previous_filename=data.get("previous_filename"),
            patch=data.get("patch"),
            additions=int(data.get("additions", 0)),
            deletions=int(data.get("deletions", 0)),
            sha=data.get("sha"),
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    status: str  # ahead, behind, diverged, identical
    ahead_by: int
    behind_by: int
    merge_base_sha: str
    files: tuple[PullFile, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            status=str(data["status"]),
            ahead_by=int(data.get("ahead_by", 0)),
            behind_by=int(data.get("behind_by", 0)),
            merge_base_sha=str(data["merge_base_commit"]["sha"]),
            files=tuple(PullFile.from_dict(f) for f in data.get("files") or ()),
        )


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    author_login: str
    state: str
    body: str
    commit_id: str | None
    html_url: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            id=int(data["id"]),
            author_login=_login(data.get("user")),
            state=str(data.get("state", "")),
            body=str(data.get("body") or ""),
            commit_id=data.get("commit_id"),
            html_url=str(data.get("html_url", "")),
        )


@dataclass(frozen=True, slots=True)
class ReviewComment:
    id: int
    author_login: str
    body: str
    path: str
    line: int | None
    side: str | None
    start_line: int | None
    commit_id: str | None
    review_id: int | None
    in_reply_to_id: int | None
    html_url: str
    author_type: str = "User"
    author_association: str | None = None
    # The hunk the comment was written on, and its lines then: kept when the
    # comment goes outdated (``line`` becomes None) after a push.
    diff_hunk: str = ""
    original_line: int | None = None
    original_start_line: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        user = data.get("user") or {}
        return cls(
            id=int(data["id"]),
            author_login=_login(user),
            body=str(data.get("body") or ""),
            path=str(data.get("path", "")),
            line=data.get("line"),
            side=data.get("side"),
            start_line=data.get("start_line"),
            commit_id=data.get("commit_id"),
            review_id=data.get("pull_request_review_id"),
            in_reply_to_id=data.get("in_reply_to_id"),
            html_url=str(data.get("html_url", "")),
            author_type=str(user.get("type", "User")) if isinstance(user, Mapping) else "User",
            author_association=_optional_str(data.get("author_association")),
            diff_hunk=str(data.get("diff_hunk") or ""),
            original_line=data.get("original_line"),
            original_start_line=data.get("original_start_line"),
        )


@dataclass(frozen=True, slots=True)
class IssueComment:
    id: int
    author_login: str
    author_type: str
    body: str
    html_url: str
    author_association: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        user = data.get("user") or {}
        return cls(
            id=int(data["id"]),
            author_login=_login(user),
            author_type=str(user.get("type", "User")),
            body=str(data.get("body") or ""),
            html_url=str(data.get("html_url", "")),
            author_association=_optional_str(data.get("author_association")),
        )


@dataclass(frozen=True, slots=True)
class DraftComment:
    """One inline comment of a review about to be posted."""

    path: str
    line: int
    body: str
    side: Side = "RIGHT"
    start_line: int | None = None
    start_side: Side | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "side": self.side,
            "body": self.body,
        }
        if self.start_line is not None and self.start_line != self.line:
            out["start_line"] = self.start_line
            out["start_side"] = self.start_side or self.side
        return out


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a git tree: ``mode`` is git's (``100644`` file, ``100755``
    executable, ``120000`` symlink, ``040000`` directory, ``160000`` submodule)."""

    path: str
    mode: str
    type: str  # blob, tree or commit (a submodule)
    sha: str
    size: int | None = None  # bytes of a blob; GitHub gives no size for trees and submodules

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        size = data.get("size")
        return cls(
            path=str(data["path"]),
            mode=str(data["mode"]),
            type=str(data["type"]),
            sha=str(data["sha"]),
            size=int(size) if isinstance(size, int) else None,
        )


@dataclass(frozen=True, slots=True)
class TreeListing:
    """A whole tree, listed recursively in one call. GitHub stops a listing past 100,000
    entries or 7 MB and says ``truncated``: then a path it does not list may still exist."""

    entries: tuple[TreeEntry, ...]
    truncated: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            entries=tuple(TreeEntry.from_dict(e) for e in data.get("tree") or ()),
            truncated=bool(data.get("truncated", False)),
        )

    def files(self) -> frozenset[str]:
        """The paths of the files (blobs) listed."""
        return frozenset(e.path for e in self.entries if e.type == "blob")

    def may_hold(self, path: str) -> bool:
        """Whether ``path`` may be a file of the tree: listed, or the listing was cut."""
        return self.truncated or path in self.files()


@dataclass(frozen=True, slots=True)
class CommentReaction:
    """One reaction on a comment: who left it and which (``eyes``, ``rocket``, ...)."""

    author_login: str
    content: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(author_login=_login(data.get("user")), content=str(data.get("content", "")))


@dataclass(frozen=True, slots=True)
class CheckRun:
    id: int
    name: str
    status: str
    conclusion: str | None
    head_sha: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            status=str(data["status"]),
            conclusion=data.get("conclusion"),
            head_sha=str(data["head_sha"]),
        )
