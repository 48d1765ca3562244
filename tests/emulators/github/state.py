"""The emulator's state: Apps, installations, tokens, repositories, pull requests and
everything posted to them. All of it lives here, behind one lock, so the HTTP server
and the seeding API in the test process see the same world."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .gitrepo import GitRepo


@dataclass
class User:
    id: int
    login: str
    type: str = "User"

    def to_json(self, base: str) -> dict[str, Any]:
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "type": self.type,
            "site_admin": False,
            "url": f"{base}/users/{self.login}",
            "html_url": f"https://github.example/{self.login}",
        }


@dataclass
class App:
    id: int
    slug: str
    name: str
    public_key_pem: bytes
    private_key_pem: str
    bot: User


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    repositories: set[str]
    permissions: dict[str, str]


@dataclass
class Token:
    value: str
    installation_id: int
    expires_at: float
    repositories: frozenset[str] | None
    permissions: dict[str, str]
    user: str | None = None  # a personal token: it acts as this user, not as the App


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    git: GitRepo
    default_branch: str = "main"
    fork_of: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Pull:
    number: int
    repo: str
    head_repo: str
    head_ref: str
    base_ref: str
    title: str
    body: str
    user: User
    draft: bool = False
    state: str = "open"
    maintainer_can_modify: bool = False


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    delay: float
    remaining: int
    then_pass: bool = False  # delay only: answer normally after the delay


@dataclass
class Chaos:
    """Faults at random: each request, with probability ``rate``, answers 502 or is held
    for ``delay`` seconds (longer than the client waits) and then served, so a write that
    "timed out" has landed. ``injected`` counts what was done, by kind."""

    rate: float
    rng: random.Random
    delay: float
    spare: re.Pattern[str]
    injected: dict[str, int] = field(default_factory=dict)

    def draw(self, method: str, path: str) -> Fault | None:
        if self.spare.search(path) or self.rng.random() >= self.rate:
            return None
        if self.rng.random() < 0.5:
            self.injected["github_502"] = self.injected.get("github_502", 0) + 1
            return Fault(method, re.compile(""), 502, {}, {"message": "Server Error"}, 0.0, 1)
        self.injected["github_timeout"] = self.injected.get("github_timeout", 0) + 1
        return Fault(method, re.compile(""), 200, {}, {}, self.delay, 1, then_pass=True)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    body: Any
    # The request headers that say who asks and for what: User-Agent, Accept and
    # X-GitHub-Api-Version (lower-cased names; absent ones are left out).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    root: Path
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)
    pulls: dict[tuple[str, int], Pull] = field(default_factory=dict)
    collaborators: dict[tuple[str, str], str] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # The App's webhook as a sender (``hooks.HookSender``), once a test points it somewhere.
    hooks: Any = None
    chaos: Chaos | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    content_writes: list[tuple[int, float]] = field(default_factory=list)
    content_limit_per_minute: int | None = None
    content_limit_retry_after: int = 60
    rate_limit: int = 5000  # per installation or App, per hour (GitHub's floor)
    anonymous_rate_limit: int = 60
    rate_windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    token_lifetime: float = 3600.0
    max_patch_bytes: int = 400_000
    max_tree_entries: int = 100_000  # a recursive tree listing is cut past this
    # Where the emulated GitHub's web pages live: every ``html_url`` starts with it. An
    # Enterprise Server can serve them on a port of its own.
    web_url: str = "https://github.example"
    # GitHub answers a request without a User-Agent with 403 and one naming an unsupported
    # API version with 400. It takes a request without a version (and serves the default)
    # or without GitHub's media type; strict, this emulator refuses those with 400 too.
    strict_headers: bool = True
    api_prefix: str = ""  # the API's path under the host ("/api/v3" on Enterprise Server)
    clock: Any = time.time

    def association(self, repo: str, login: str) -> str:
        """GitHub's ``author_association`` of ``login`` on ``repo``."""
        if self.repos[repo].owner == login:
            return "OWNER"
        if (repo, login) in self.collaborators:
            return "COLLABORATOR"
        return "NONE"

    def next_id(self) -> int:
        return next(self.ids)

    def user(self, login: str, kind: str = "User") -> User:
        if login not in self.users:
            self.users[login] = User(self.next_id(), login, kind)
        return self.users[login]

    def next_number(self, repo: str) -> int:
        return 1 + max((n for (r, n) in self.pulls if r == repo), default=0)
