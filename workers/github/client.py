"""``GitHubClient``: one installation acting on one repository.

Built by ``GitHubApp.installation_client``. It speaks through PyGithub's ``Requester``
(auth, retries, URL checks against the configured base) and returns this project's
value objects only. Content-creating requests go through the installation's ``Pacer``.
A review is never posted twice: after an answer that leaves it unknown whether the
review landed (5xx, lost connection), the client looks for the review's hidden marker
before posting again.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

import requests
from github import GithubException
from github.Requester import Requester

from workers import metrics

from .errors import GitHubError, NotFound, ServerError, TransportError
from .models import (
    AppIdentity,
    CheckRun,
    CommentReaction,
    Comparison,
    DraftComment,
    IssueComment,
    PullFile,
    PullRequest,
    Review,
    ReviewComment,
    TreeEntry,
    TreeListing,
)
from .pacing import Pacer

CommentKind = Literal["issue_comment", "review_comment"]
# Every request asks for GitHub's JSON at the REST API version this code was written for.
API_VERSION = "2022-11-28"
REQUEST_HEADERS: Mapping[str, str] = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
}
_MAX_FILES = 3000
# Sends of an idempotent write before its outage answer is final (0.5 s, 1 s, 2 s apart).
_IDEMPOTENT_TRIES = 4


def call(
    requester: Requester,
    method: str,
    url: str,
    *,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[dict[str, str], Any]:
    """One request through PyGithub with ``REQUEST_HEADERS``; every failure becomes a
    ``GitHubError``."""
    try:
        headers, data = requester.requestJsonAndCheck(
            method,
            url,
            parameters=dict(params) if params else None,
            headers=dict(REQUEST_HEADERS),
            input=dict(body) if body is not None else None,
        )
    except GithubException as exc:
        metrics.github_request(method, url, exc.status)
        raise GitHubError.from_exception(exc) from exc
    except requests.RequestException as exc:
        metrics.github_request(method, url, "no_answer")
        raise TransportError(f"{method} {url}: {exc}") from exc
    metrics.github_request(method, url, 200)
    return dict(headers), data


def next_link(headers: Mapping[str, str]) -> str | None:
    link = {k.lower(): v for k, v in headers.items()}.get("link", "")
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def review_marker(commit_id: str, body: str, comments: Sequence[DraftComment]) -> str:
    """The hidden marker that makes one review findable again."""
    digest = hashlib.sha256()
    digest.update(commit_id.encode())
    digest.update(body.encode())
    for c in comments:
        digest.update(repr(c.to_json()).encode())
    return f"<!-- codex-review:{digest.hexdigest()[:20]} -->"


class GitHubClient:
    """An installation's client for one repository; methods return value objects."""

    def __init__(
        self,
        requester: Requester,
        *,
        repository: str,
        installation_id: int,
        pacer: Pacer,
        identity: Callable[[], AppIdentity],
        settle_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._requester = requester
        self.repository = repository
        self.installation_id = installation_id
        self._pacer = pacer
        self._identity = identity
        self._settle = settle_seconds
        self._sleep = sleep
        self._repo_url = f"/repos/{repository}"

    # --- plumbing ------------------------------------------------------------------------
    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return call(self._requester, "GET", self._repo_url + path, params=params)[1]

    def _pages(self, path: str, limit: int = 10_000) -> list[Any]:
        items: list[Any] = []
        url: str | None = self._repo_url + path
        params: Mapping[str, Any] | None = {"per_page": 100}
        while url is not None and len(items) < limit:
            headers, data = call(self._requester, "GET", url, params=params)
            items.extend(data)
            url, params = next_link(headers), None
        return items[:limit]

    def _write(
        self, method: str, path: str, body: Mapping[str, Any], *, idempotent: bool = False
    ) -> Any:
        """One paced write. An ``idempotent`` one (the same request twice leaves the same
        state, like a PATCH that sets fields) is sent again after an outage answer."""
        tries = _IDEMPOTENT_TRIES if idempotent else 1
        for attempt in range(1, tries + 1):
            try:
                with self._pacer.slot(self.installation_id):
                    return call(self._requester, method, self._repo_url + path, body=body)[1]
            except (TransportError, ServerError):
                if attempt == tries:
                    raise
                self._sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    # --- reads ---------------------------------------------------------------------------
    def app_identity(self) -> AppIdentity:
        return self._identity()

    def get_pull(self, number: int) -> PullRequest:
        return PullRequest.from_dict(self._get(f"/pulls/{number}"))

    def get_default_branch(self) -> str:
        """The repository's default branch (``GET /repos/{owner}/{repo}``)."""
        return str(self._get("")["default_branch"])

    def list_pull_files(self, number: int) -> tuple[PullFile, ...]:
        """Every file of the PR (all pages, at most GitHub's 3,000)."""
        return tuple(
            PullFile.from_dict(f) for f in self._pages(f"/pulls/{number}/files", _MAX_FILES)
        )

    def list_pull_commit_messages(
        self, number: int, *, page: int = 1, per_page: int = 100
    ) -> tuple[str, ...]:
        """The messages of one page of the PR's commits, oldest first (one request).

        GitHub lists at most 250 commits of a pull request, at most 100 per page.
        """
        data = self._get(f"/pulls/{number}/commits", {"per_page": per_page, "page": page})
        return tuple(str(item["commit"]["message"]) for item in data)

    def compare(self, base: str, head: str) -> Comparison:
        return Comparison.from_dict(
            self._get(f"/compare/{quote(base, safe='')}...{quote(head, safe='')}")
        )

    def get_file(self, path: str, ref: str) -> bytes | None:
        """A file's bytes at ``ref``; None when it does not exist there."""
        try:
            data = self._get(f"/contents/{quote(path)}", {"ref": ref})
        except NotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") == "base64":
            return base64.b64decode(data.get("content") or "")
        # Files over 1 MB come without content: fetch the blob instead.
        blob = self._get(f"/git/blobs/{data['sha']}")
        return base64.b64decode(blob.get("content") or "")

    def get_tree(self, tree_sha: str) -> tuple[TreeEntry, ...]:
        """The entries of one tree, not recursive; a commit SHA names its root tree."""
        data = self._get(f"/git/trees/{quote(tree_sha, safe='')}")
        return tuple(TreeEntry.from_dict(e) for e in data.get("tree") or ())

    def list_tree(self, ref: str) -> TreeListing:
        """Every entry of the tree at ``ref`` (a branch, tag or SHA), in one call
        (``recursive=1``); GitHub may cut a very large tree (``truncated``)."""
        data = self._get(f"/git/trees/{quote(ref)}", {"recursive": "1"})
        return TreeListing.from_dict(data)

    def list_reviews(self, number: int) -> tuple[Review, ...]:
        return tuple(Review.from_dict(r) for r in self._pages(f"/pulls/{number}/reviews"))

    def list_review_comments(self, number: int) -> tuple[ReviewComment, ...]:
        return tuple(ReviewComment.from_dict(c) for c in self._pages(f"/pulls/{number}/comments"))

    def list_issue_comments(self, number: int) -> tuple[IssueComment, ...]:
        return tuple(IssueComment.from_dict(c) for c in self._pages(f"/issues/{number}/comments"))

    def get_issue_comment(self, comment_id: int) -> IssueComment:
        return IssueComment.from_dict(self._get(f"/issues/comments/{comment_id}"))

    def get_review_comment(self, comment_id: int) -> ReviewComment:
        return ReviewComment.from_dict(self._get(f"/pulls/comments/{comment_id}"))

    def list_reactions(self, kind: CommentKind, comment_id: int) -> tuple[CommentReaction, ...]:
        """The reactions on one comment, every page (an issue or a review comment)."""
        where = "issues" if kind == "issue_comment" else "pulls"
        return tuple(
            CommentReaction.from_dict(r)
            for r in self._pages(f"/{where}/comments/{comment_id}/reactions")
        )

    def get_permission(self, username: str) -> str:
        """admin, maintain, write, triage, read or none."""
        try:
            data = self._get(f"/collaborators/{quote(username)}/permission")
        except NotFound:
            return "none"
        return str(data.get("role_name") or data.get("permission") or "none")

    def get_branch_sha(self, branch: str) -> str:
        return str(self._get(f"/git/ref/heads/{quote(branch)}")["object"]["sha"])

    # --- writes --------------------------------------------------------------------------
    def create_review(
        self, number: int, commit_id: str, body: str, comments: Sequence[DraftComment]
    ) -> Review:
        """Post one review (event COMMENT) with inline comments, at most once.

        The body gets a hidden marker. When the POST fails in a way that leaves it
        unknown whether the review landed (5xx, lost connection), the reviews are read
        (again after ``settle_seconds``) and a review with the marker is returned instead
        of posting a second one. Only if none appears is the POST tried once more.
        """
        marker = review_marker(commit_id, body, comments)
        payload = {
            "commit_id": commit_id,
            "body": f"{body}\n\n{marker}",
            "event": "COMMENT",
            "comments": [c.to_json() for c in comments],
        }
        try:
            return Review.from_dict(self._write("POST", f"/pulls/{number}/reviews", payload))
        except (ServerError, TransportError):
            landed = self._find_review(number, marker)
            if landed is None:
                self._sleep(self._settle)
                landed = self._find_review(number, marker)
            if landed is not None:
                return landed
        return Review.from_dict(self._write("POST", f"/pulls/{number}/reviews", payload))

    def _find_review(self, number: int, marker: str) -> Review | None:
        bot = self._identity().bot_login
        for review in self.list_reviews(number):
            if marker in review.body and review.author_login == bot:
                return review
        return None

    def create_issue_comment(self, number: int, body: str) -> IssueComment:
        return IssueComment.from_dict(
            self._write("POST", f"/issues/{number}/comments", {"body": body})
        )

    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> ReviewComment:
        data = self._write("POST", f"/pulls/{number}/comments/{comment_id}/replies", {"body": body})
        return ReviewComment.from_dict(data)

    def add_reaction(self, kind: CommentKind, comment_id: int, content: str) -> None:
        where = "issues" if kind == "issue_comment" else "pulls"
        self._write("POST", f"/{where}/comments/{comment_id}/reactions", {"content": content})

    def create_check_run(
        self,
        name: str,
        head_sha: str,
        *,
        status: str = "in_progress",
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> CheckRun:
        body: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": status}
        if details_url:
            body["details_url"] = details_url
        if external_id:
            body["external_id"] = external_id
        try:
            return CheckRun.from_dict(self._write("POST", "/check-runs", body))
        except (TransportError, ServerError):
            # The POST may have landed (or land in a moment): adopt that run rather than
            # leave it in progress for ever next to a second one.
            if external_id is None:
                raise
            self._sleep(self._settle)
            landed = self.find_check_run(head_sha, name, external_id)
            if landed is None:
                raise
            return landed

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> CheckRun | None:
        """This head's check run called ``name`` that carries ``external_id``, if any."""
        data = self._get(f"/commits/{head_sha}/check-runs", {"check_name": name, "filter": "all"})
        for run in data.get("check_runs", ()) if isinstance(data, Mapping) else ():
            if run.get("external_id") == external_id:
                return CheckRun.from_dict(run)
        return None

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
    ) -> CheckRun:
        body: dict[str, Any] = {}
        if status:
            body["status"] = status
        if conclusion:
            body["conclusion"] = conclusion
        if title is not None or summary is not None:
            output: dict[str, str] = {"title": title or "", "summary": summary or ""}
            if text is not None:
                output["text"] = text
            body["output"] = output
        path = f"/check-runs/{check_run_id}"
        return CheckRun.from_dict(self._write("PATCH", path, body, idempotent=True))

    def commit_files(
        self,
        branch_parent_sha: str,
        changes: Mapping[str, bytes | None],
        message: str,
        modes: Mapping[str, str] | None = None,
    ) -> str:
        """Create a commit on top of ``branch_parent_sha`` (None deletes a path); return its sha.

        ``modes`` gives a path's git mode (``100755`` keeps a script executable);
        paths it does not name are written as ``100644``. The branch is not
        moved: call ``update_branch`` with the result.
        """
        modes = modes or {}
        parent = self._get(f"/git/commits/{branch_parent_sha}")
        tree: list[dict[str, Any]] = []
        for path, data in changes.items():
            if data is None:
                tree.append({"path": path, "mode": "100644", "type": "blob", "sha": None})
                continue
            blob = self._write(
                "POST",
                "/git/blobs",
                {"content": base64.b64encode(data).decode(), "encoding": "base64"},
            )
            mode = modes.get(path, "100644")
            tree.append({"path": path, "mode": mode, "type": "blob", "sha": blob["sha"]})
        new_tree = self._write(
            "POST", "/git/trees", {"base_tree": parent["tree"]["sha"], "tree": tree}
        )
        commit = self._write(
            "POST",
            "/git/commits",
            {"message": message, "tree": new_tree["sha"], "parents": [branch_parent_sha]},
        )
        return str(commit["sha"])

    def update_branch(self, branch: str, sha: str) -> None:
        """Fast-forward ``branch`` to ``sha``; raises ``BranchMoved`` if it moved meanwhile."""
        self._write("PATCH", f"/git/refs/heads/{quote(branch)}", {"sha": sha, "force": False})
