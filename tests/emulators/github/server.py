"""``GitHubEmulator``: serves the emulated REST API on 127.0.0.1 and seeds its state.

The server runs under uvicorn in a background thread of the test process; worker
processes reach it over HTTP. ``prefix="/api/v3"`` serves it the way GitHub
Enterprise Server does.
"""

from __future__ import annotations

import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .gitrepo import GitRepo
from .hooks import Attempt, HookSender
from .state import App, Chaos, Fault, Installation, Pull, RecordedRequest, Repo, State, Token

ALL_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "metadata": "read",
}


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True)
class SeededApp:
    id: int
    slug: str
    private_key_pem: str


class GitHubEmulator:
    def __init__(self, root: Path, prefix: str = "") -> None:
        from .app import make_app

        self.state = State(root=root)
        self.prefix = prefix
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            make_app(self.state, prefix),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def start(self) -> GitHubEmulator:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("GitHub emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # --- seeding -------------------------------------------------------------------------
    def create_app(self, slug: str = "codex-review") -> SeededApp:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with self.state.lock:
            app_id = self.state.next_id()
            bot = self.state.user(f"{slug}[bot]", "Bot")
            self.state.apps[app_id] = App(
                app_id, slug, slug.replace("-", " ").title(), public, pem, bot
            )
        return SeededApp(app_id, slug, pem)

    def create_installation(
        self,
        app: SeededApp,
        account: str,
        repos: list[str],
        permissions: Mapping[str, str] | None = None,
    ) -> int:
        with self.state.lock:
            inst_id = self.state.next_id()
            self.state.installations[inst_id] = Installation(
                inst_id,
                app.id,
                account,
                {f"{account}/{r}" for r in repos},
                dict(permissions or ALL_PERMISSIONS),
            )
            self.state.user(account, "Organization")
        return inst_id

    def create_user_token(self, login: str, installation_id: int) -> str:
        """A personal access token of ``login`` reaching the repositories of
        ``installation_id``; what it posts carries ``login`` as its author."""
        with self.state.lock:
            self.state.user(login)
            inst = self.state.installations[installation_id]
            token = Token(
                value="ghp_" + secrets.token_urlsafe(27),
                installation_id=installation_id,
                expires_at=float("inf"),
                repositories=None,
                permissions=dict(inst.permissions),
                user=login,
            )
            self.state.tokens[token.value] = token
        return token.value

    def create_repo(
        self, full_name: str, files: Mapping[str, bytes | str] | None = None, branch: str = "main"
    ) -> GitRepo:
        owner, name = full_name.split("/")
        with self.state.lock:
            git = GitRepo.init(self.state.root / "repos" / full_name)
            self.state.repos[full_name] = Repo(self.state.next_id(), owner, name, git, branch)
            self.state.user(owner)
        if files is not None:
            self.commit(full_name, branch, files, "Initial commit", parent=None)
        return git

    def commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        message: str = "Change",
        parent: str | bool | None = True,
    ) -> str:
        """Commit ``files`` (None deletes) on ``branch``; parent defaults to the branch tip.

        A new branch starts from the default branch unless ``parent`` names a commit.
        """
        repo = self.state.repos[full_name]
        with self.state.lock:
            if parent is True:
                parent = repo.git.ref(branch) or repo.git.ref(repo.default_branch)
            data = {p: (c.encode() if isinstance(c, str) else c) for p, c in files.items()}
            sha = repo.git.commit_files(parent or None, data, message)  # type: ignore[arg-type]
            repo.git.set_ref(branch, sha)
        return sha

    def fork(self, source: str, full_name: str) -> None:
        owner, name = full_name.split("/")
        with self.state.lock:
            src = self.state.repos[source]
            path = self.state.root / "repos" / full_name
            git = GitRepo.init(path)
            git.git("fetch", "--quiet", str(src.git.path), "+refs/heads/*:refs/heads/*")
            self.state.repos[full_name] = Repo(
                self.state.next_id(), owner, name, git, src.default_branch, source
            )
            self.state.user(owner)

    def create_pull(
        self,
        repo: str,
        head: str,
        base: str = "main",
        title: str = "A change",
        body: str = "",
        author: str = "octocat",
        head_repo: str | None = None,
        draft: bool = False,
        maintainer_can_modify: bool = False,
    ) -> int:
        with self.state.lock:
            number = self.state.next_number(repo)
            self.state.pulls[(repo, number)] = Pull(
                number,
                repo,
                head_repo or repo,
                head,
                base,
                title,
                body,
                self.state.user(author),
                draft=draft,
                maintainer_can_modify=maintainer_can_modify,
            )
        return number

    def add_collaborator(self, repo: str, login: str, permission: str) -> None:
        with self.state.lock:
            self.state.user(login)
            self.state.collaborators[(repo, login)] = permission

    # --- comments written by people ------------------------------------------------------
    def association(self, repo: str, login: str) -> str:
        """GitHub's ``author_association`` of ``login`` on ``repo``."""
        with self.state.lock:
            return self.state.association(repo, login)

    def add_issue_comment(
        self, repo: str, number: int, login: str, body: str, user_type: str = "User"
    ) -> int:
        """A conversation comment on PR ``number`` written by ``login``; its id.

        Shaped as GitHub's API returns it (the REST API only ever acts as the
        App, so people's comments are seeded here).
        """
        with self.state.lock:
            user = self.state.user(login, user_type)
            cid = self.state.next_id()
            stamp = _stamp(self.state.clock())
            self.state.issue_comments.append(
                {
                    "_repo": repo,
                    "_number": number,
                    "id": cid,
                    "node_id": f"IC_{cid}",
                    "url": f"{self.base_url}/repos/{repo}/issues/comments/{cid}",
                    "html_url": f"{self.state.web_url}/{repo}/pull/{number}#issuecomment-{cid}",
                    "issue_url": f"{self.base_url}/repos/{repo}/issues/{number}",
                    "body": body,
                    "user": user.to_json(self.base_url),
                    "created_at": stamp,
                    "updated_at": stamp,
                    "author_association": self.association(repo, login),
                }
            )
        return cid

    def add_review_reply(
        self, repo: str, parent_id: int, login: str, body: str, user_type: str = "User"
    ) -> int:
        """A reply by ``login`` in the review thread of comment ``parent_id``; its id.

        Like GitHub, the reply carries the thread's anchor (path, lines, diff hunk).
        """
        with self.state.lock:
            parent = next(
                c for c in self.state.review_comments if c["id"] == parent_id and c["_repo"] == repo
            )
            root = parent.get("in_reply_to_id") or parent["id"]
            user = self.state.user(login, user_type)
            cid = self.state.next_id()
            stamp = _stamp(self.state.clock())
            comment = dict(parent)
            comment.update(
                id=cid,
                node_id=f"PRRC_{cid}",
                url=f"{self.base_url}/repos/{repo}/pulls/comments/{cid}",
                html_url=(
                    f"{self.state.web_url}/{repo}/pull/{parent['_number']}#discussion_r{cid}"
                ),
                body=body,
                user=user.to_json(self.base_url),
                in_reply_to_id=root,
                pull_request_review_id=None,
                created_at=stamp,
                updated_at=stamp,
                author_association=self.association(repo, login),
            )
            self.state.review_comments.append(comment)
        return cid

    def edit_comment(self, kind: str, comment_id: int, body: str) -> None:
        """Change a comment's body, as its author editing it would."""
        with self.state.lock:
            items = (
                self.state.issue_comments
                if kind == "issue_comment"
                else (self.state.review_comments)
            )
            comment = next(c for c in items if c["id"] == comment_id)
            comment["body"] = body
            comment["updated_at"] = _stamp(self.state.clock())

    def reactions(self, kind: str, comment_id: int) -> list[str]:
        """The reactions' contents on one comment, oldest first."""
        with self.state.lock:
            return [
                r["content"] for r in self.state.reactions if r["_comment"] == (kind, comment_id)
            ]

    # --- the App's webhook -------------------------------------------------------------
    def point_webhook(self, url: str, secret: str) -> HookSender:
        """Send the App's deliveries to ``url``, signed with ``secret``; the delivery log
        and the redelivery endpoints answer from then on."""
        sender = HookSender(url=url, secret=secret.encode(), clock=self.state.clock)
        with self.state.lock:
            self.state.hooks = sender
        return sender

    def send_webhook(self, event: str, body: bytes, guid: str | None = None) -> Attempt:
        """Deliver one event now, as GitHub does (no retry of its own)."""
        sender = self.state.hooks
        assert isinstance(sender, HookSender), "point_webhook first"
        return sender.send(event, body, guid=guid)

    # --- faults and limits ---------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next ``times`` requests matching ``method`` and ``path`` (a regex) get ``status``."""
        with self.state.lock:
            self.state.faults.append(
                Fault(
                    method,
                    re.compile(path),
                    status,
                    dict(headers or {}),
                    dict(body or {"message": "Server Error"}),
                    delay,
                    times,
                )
            )

    def chaos(
        self, rate: float, *, seed: int = 7, delay: float = 3.0, spare: str = r"^/app/hook/"
    ) -> Chaos:
        """From now on, fail or hold a random ``rate`` of requests (``Chaos``); paths
        matching ``spare`` are never touched."""
        chaos = Chaos(rate, random.Random(seed), delay, re.compile(spare))
        with self.state.lock:
            self.state.chaos = chaos
        return chaos

    def calm(self) -> None:
        with self.state.lock:
            self.state.chaos = None

    def slow_next(self, method: str, path: str, delay: float, times: int = 1) -> None:
        with self.state.lock:
            self.state.faults.append(
                Fault(method, re.compile(path), 200, {}, {}, delay, times, then_pass=True)
            )

    def primary_rate_limit(self, method: str, path: str, reset_in: int = 1, times: int = 1) -> None:
        self.fail_next(
            method,
            path,
            403,
            times=times,
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(int(time.time()) + reset_in),
            },
            body={
                "message": "API rate limit exceeded for installation ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
        )

    def secondary_rate_limit(
        self, method: str, path: str, retry_after: int = 1, times: int = 1
    ) -> None:
        self.fail_next(
            method,
            path,
            403,
            times=times,
            headers={"retry-after": str(retry_after)},
            body={
                "message": "You have exceeded a secondary rate limit. "
                "Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
        )

    def limit_content_creation(self, per_minute: int, retry_after: int = 60) -> None:
        with self.state.lock:
            self.state.content_limit_per_minute = per_minute
            self.state.content_limit_retry_after = retry_after

    # --- inspection ----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def schema_violations(self) -> list[str]:
        with self.state.lock:
            return list(self.state.schema_violations)

    def reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [r for r in self.state.reviews if r["_repo"] == repo and r["_number"] == number]

    def review_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                c
                for c in self.state.review_comments
                if c["_repo"] == repo and c["_number"] == number
            ]

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                c
                for c in self.state.issue_comments
                if c["_repo"] == repo and c["_number"] == number
            ]

    def branch_sha(self, repo: str, branch: str) -> str | None:
        with self.state.lock:
            return self.state.repos[repo].git.ref(branch)
