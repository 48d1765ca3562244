"""The emulator's REST API: a Starlette app with one dispatcher over a route table.

Each route names GitHub's path template, which is also how its request body is
checked against the official schema. Handlers raise ``ApiError`` for GitHub's error
answers; everything else about the HTTP shape (faults, logging, URL bases, the
``/_emulator`` private API) is handled in ``dispatch``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import schema
from .gitrepo import FileDiff, GitRepo
from .state import Pull, RecordedRequest, Repo, State, Token

DOCS = "https://docs.github.com/rest"
MAX_BODY = 65_536
# Operations GitHub counts as content creation for its secondary limit.
CONTENT_CREATING = re.compile(
    r"/(reviews|comments|replies|reactions|check-runs(/\d+)?|git/(blobs|trees|commits|refs.*))$"
)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def unprocessable(*errors: Any, message: str = "Unprocessable Entity") -> ApiError:
    return ApiError(422, message, list(errors))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Ctx:
    state: State
    base: str
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: Token | None
    app_id: int | None
    repo: Repo | None


Handler = Callable[[Ctx], tuple[int, Any] | tuple[int, Any, dict[str, str]]]
ROUTES: list[tuple[str, str, re.Pattern[str], Handler, str]] = []


def route(method: str, template: str, auth: str = "token") -> Callable[[Handler], Handler]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    pattern = pattern.replace("(?P<path>[^/]+)", "(?P<path>.+)")

    def register(fn: Handler) -> Handler:
        ROUTES.append((method, template, re.compile(f"^{pattern}$"), fn, auth))
        return fn

    return register


# --- authentication -----------------------------------------------------------------------
def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return (scheme.lower(), value.strip()) if value else None


def authenticate_app(state: State, request: Request) -> int:
    creds = _credentials(request)
    if creds is None or creds[0] != "bearer" or creds[1].count(".") != 2:
        raise ApiError(401, "A JSON web token could not be decoded")
    raw = creds[1]
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
        app = state.apps[int(claims["iss"])]
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise ApiError(401, "A JSON web token could not be decoded") from exc
    try:
        claims = jwt.decode(
            raw,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"]},
            leeway=0,
        )
    except jwt.PyJWTError as exc:
        raise ApiError(401, f"A JSON web token could not be decoded ({exc})") from exc
    now = state.clock()
    # GitHub refuses an exp more than 10 minutes ahead and an iat in the future (60 s skew).
    if claims["exp"] - now > 600 or claims["exp"] - claims["iat"] > 600 + 60:
        raise ApiError(
            401,
            "'Expiration time' claim ('exp') is too far in the future",
        )
    if claims["iat"] > now + 60:
        raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing the time")
    return app.id


def authenticate_token(state: State, request: Request) -> Token:
    creds = _credentials(request)
    if creds is None:
        raise ApiError(401, "Requires authentication")
    token = state.tokens.get(creds[1])
    if creds[0] not in ("token", "bearer") or token is None:
        raise ApiError(401, "Bad credentials")
    if token.expires_at <= state.clock():
        raise ApiError(401, "Bad credentials")
    return token


LEVEL = {"read": 1, "write": 2, "admin": 3}


def need(ctx: Ctx, permission: str, level: str) -> None:
    assert ctx.token is not None
    if LEVEL.get(ctx.token.permissions.get(permission, ""), 0) < LEVEL[level]:
        raise ApiError(403, "Resource not accessible by integration")


def actor(ctx: Ctx) -> dict[str, Any]:
    assert ctx.token is not None
    if ctx.token.user is not None:
        return ctx.state.user(ctx.token.user).to_json(ctx.base)
    inst = ctx.state.installations[ctx.token.installation_id]
    return ctx.state.apps[inst.app_id].bot.to_json(ctx.base)


# --- JSON shapes --------------------------------------------------------------------------
def repo_json(ctx: Ctx, repo: Repo) -> dict[str, Any]:
    owner = ctx.state.user(repo.owner)
    url = f"{ctx.base}/repos/{repo.full_name}"
    return {
        "id": repo.id,
        "node_id": f"R_{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": owner.to_json(ctx.base),
        "private": False,
        "fork": repo.fork_of is not None,
        "url": url,
        "html_url": f"https://github.example/{repo.full_name}",
        "default_branch": repo.default_branch,
        "pulls_url": url + "/pulls{/number}",
    }


def pull_parts(state: State, pull: Pull) -> tuple[Repo, Repo, str, str, str]:
    """(base repo, head repo, base sha, head sha, merge base) with head objects in base repo."""
    base_repo = state.repos[pull.repo]
    head_repo = state.repos[pull.head_repo]
    base_sha = base_repo.git.ref(pull.base_ref)
    if head_repo is base_repo:
        head_sha = base_repo.git.ref(pull.head_ref)
    else:
        base_repo.git.fetch(head_repo.git, pull.head_ref, f"refs/pull/{pull.number}/head")
        head_sha = base_repo.git.resolve(f"refs/pull/{pull.number}/head")
    assert base_sha
    assert head_sha
    merge_base = base_repo.git.merge_base(base_sha, head_sha) or base_sha
    return base_repo, head_repo, base_sha, head_sha, merge_base


def pull_json(ctx: Ctx, pull: Pull) -> dict[str, Any]:
    base_repo, head_repo, base_sha, head_sha, merge_base = pull_parts(ctx.state, pull)
    files = base_repo.git.diff(merge_base, head_sha, ctx.state.max_patch_bytes)
    url = f"{ctx.base}/repos/{pull.repo}/pulls/{pull.number}"
    return {
        "id": 10_000 + pull.number,
        "node_id": f"PR_{pull.number}",
        "number": pull.number,
        "url": url,
        "html_url": f"https://github.example/{pull.repo}/pull/{pull.number}",
        "issue_url": f"{ctx.base}/repos/{pull.repo}/issues/{pull.number}",
        "state": pull.state,
        "draft": pull.draft,
        "locked": False,
        "title": pull.title,
        "body": pull.body,
        "user": pull.user.to_json(ctx.base),
        "head": {
            "label": f"{head_repo.owner}:{pull.head_ref}",
            "ref": pull.head_ref,
            "sha": head_sha,
            "repo": repo_json(ctx, head_repo),
            "user": ctx.state.user(head_repo.owner).to_json(ctx.base),
        },
        "base": {
            "label": f"{base_repo.owner}:{pull.base_ref}",
            "ref": pull.base_ref,
            "sha": base_sha,
            "repo": repo_json(ctx, base_repo),
            "user": ctx.state.user(base_repo.owner).to_json(ctx.base),
        },
        "maintainer_can_modify": pull.maintainer_can_modify,
        "merged": False,
        "mergeable": True,
        "commits": len(base_repo.git.rev_list(merge_base, head_sha)),
        "additions": sum(f.additions for f in files),
        "deletions": sum(f.deletions for f in files),
        "changed_files": len(files),
        "created_at": iso(0),
        "updated_at": iso(0),
    }


def file_json(ctx: Ctx, repo: Repo, f: FileDiff, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sha": f.sha,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": f"https://github.example/{repo.full_name}/blob/{ref}/{f.filename}",
        "raw_url": f"https://github.example/{repo.full_name}/raw/{ref}/{f.filename}",
        "contents_url": f"{ctx.base}/repos/{repo.full_name}/contents/{quote(f.filename)}?ref={ref}",
    }
    if f.patch is not None:
        out["patch"] = f.patch
    if f.previous_filename is not None:
        out["previous_filename"] = f.previous_filename
    return out


def paginate(ctx: Ctx, path: str, items: list[Any]) -> tuple[int, Any, dict[str, str]]:
    per_page = max(1, min(100, int(ctx.query.get("per_page", "30"))))
    page = max(1, int(ctx.query.get("page", "1")))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []
    extra = {k: v for k, v in ctx.query.items() if k not in ("page", "per_page")}
    suffix = "".join(f"&{k}={quote(v)}" for k, v in extra.items())

    def link(p: int, rel: str) -> str:
        return f'<{ctx.base}{path}?per_page={per_page}&page={p}{suffix}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    return 200, chunk, ({"link": ", ".join(links)} if links else {})


def get_pull(ctx: Ctx) -> Pull:
    assert ctx.repo is not None
    pull = ctx.state.pulls.get((ctx.repo.full_name, int(ctx.params["pull_number"])))
    if pull is None:
        raise ApiError(404, "Not Found")
    return pull


def check_body_length(body: Any, resource: str) -> None:
    if isinstance(body, str) and len(body) > MAX_BODY:
        raise unprocessable(
            {
                "resource": resource,
                "code": "custom",
                "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)",
            },
            message="Validation Failed",
        )


# --- App endpoints ------------------------------------------------------------------------
@route("GET", "/app", auth="app")
def get_app(ctx: Ctx) -> tuple[int, Any]:
    assert ctx.app_id is not None
    app = ctx.state.apps[ctx.app_id]
    return 200, {
        "id": app.id,
        "slug": app.slug,
        "name": app.name,
        "node_id": f"A_{app.id}",
        "owner": ctx.state.user("app-owner", "Organization").to_json(ctx.base),
        "html_url": f"https://github.example/apps/{app.slug}",
        "permissions": {},
        "events": [],
        "created_at": iso(0),
        "updated_at": iso(0),
    }


def installation_json(ctx: Ctx, inst_id: int) -> dict[str, Any]:
    inst = ctx.state.installations[inst_id]
    return {
        "id": inst.id,
        "app_id": inst.app_id,
        "account": ctx.state.user(inst.account, "Organization").to_json(ctx.base),
        "permissions": inst.permissions,
        "repository_selection": "selected",
        "access_tokens_url": f"{ctx.base}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{ctx.base}/installation/repositories",
        "html_url": f"https://github.example/settings/installations/{inst.id}",
        "target_type": "Organization",
        "events": [],
        "created_at": iso(0),
        "updated_at": iso(0),
    }


@route("GET", "/repos/{owner}/{repo}/installation", auth="app")
def repo_installation(ctx: Ctx) -> tuple[int, Any]:
    name = f"{ctx.params['owner']}/{ctx.params['repo']}"
    for inst in ctx.state.installations.values():
        if inst.app_id == ctx.app_id and name in inst.repositories:
            return 200, installation_json(ctx, inst.id)
    raise ApiError(404, "Not Found")


@route("POST", "/app/installations/{installation_id}/access_tokens", auth="app")
def access_token(ctx: Ctx) -> tuple[int, Any]:
    inst = ctx.state.installations.get(int(ctx.params["installation_id"]))
    if inst is None or inst.app_id != ctx.app_id:
        raise ApiError(404, "Not Found")
    body = ctx.body or {}
    wanted: dict[str, str] = body.get("permissions") or dict(inst.permissions)
    for name, level in wanted.items():
        if LEVEL.get(inst.permissions.get(name, ""), 0) < LEVEL.get(level, 9):
            raise unprocessable(
                message="The permissions requested are not granted to this installation."
            )
    repos: frozenset[str] | None = None
    if body.get("repositories"):
        repos = frozenset(f"{inst.account}/{r}" for r in body["repositories"])
        if not repos <= inst.repositories:
            raise unprocessable(
                message="There is at least one repository that does not exist or is not "
                "accessible to the parent installation."
            )
    token = Token(
        value="ghs_" + secrets.token_urlsafe(27),
        installation_id=inst.id,
        expires_at=ctx.state.clock() + ctx.state.token_lifetime,
        repositories=repos,
        permissions=wanted,
    )
    ctx.state.tokens[token.value] = token
    out: dict[str, Any] = {
        "token": token.value,
        "expires_at": iso(token.expires_at),
        "permissions": wanted,
        "repository_selection": "selected",
    }
    if repos is not None:
        out["repositories"] = [repo_json(ctx, ctx.state.repos[r]) for r in sorted(repos)]
    return 201, out


@route("GET", "/user", auth="user")
def authenticated_user(ctx: Ctx) -> tuple[int, Any]:
    if ctx.token is None or ctx.token.user is None:
        raise ApiError(403, "Resource not accessible by integration")
    return 200, ctx.state.user(ctx.token.user).to_json(ctx.base)


# --- reads --------------------------------------------------------------------------------
@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> tuple[int, Any]:
    assert ctx.repo is not None
    return 200, repo_json(ctx, ctx.repo)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def read_pull(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "read")
    return 200, pull_json(ctx, get_pull(ctx))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def pull_files(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    base_repo, _, _, head_sha, merge_base = pull_parts(ctx.state, pull)
    files = base_repo.git.diff(merge_base, head_sha, ctx.state.max_patch_bytes)[:3000]
    items = [file_json(ctx, base_repo, f, head_sha) for f in files]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/files", items)


def commit_json(ctx: Ctx, repo: Repo, sha: str) -> dict[str, Any]:
    info = repo.git.commit_info(sha)
    person = info["author"]
    return {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": f"{ctx.base}/repos/{repo.full_name}/commits/{sha}",
        "html_url": f"https://github.example/{repo.full_name}/commit/{sha}",
        "commit": {
            "message": info["message"],
            "author": person,
            "committer": person,
            "tree": {
                "sha": info["tree"],
                "url": f"{ctx.base}/repos/{repo.full_name}/git/trees/{info['tree']}",
            },
            "url": f"{ctx.base}/repos/{repo.full_name}/git/commits/{sha}",
        },
        "parents": [
            {"sha": p, "url": f"{ctx.base}/repos/{repo.full_name}/commits/{p}"}
            for p in info["parents"]  # type: ignore[attr-defined]
        ],
    }


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def pull_commits(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    base_repo, _, _, head_sha, merge_base = pull_parts(ctx.state, pull)
    shas = base_repo.git.rev_list(merge_base, head_sha)
    items = [commit_json(ctx, base_repo, s) for s in shas]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/commits", items)


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    git = ctx.repo.git
    base_ref, sep, head_ref = ctx.params["basehead"].partition("...")
    base, head = git.resolve(base_ref), git.resolve(head_ref)
    if not sep or base is None or head is None:
        raise ApiError(404, "Not Found")
    merge_base = git.merge_base(base, head)
    if merge_base is None:
        raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
    ahead = len(git.rev_list(base, head))
    behind = len(git.rev_list(head, base))
    status = (
        "identical"
        if ahead == behind == 0
        else "ahead"
        if behind == 0
        else "behind"
        if ahead == 0
        else "diverged"
    )
    files = git.diff(merge_base, head, ctx.state.max_patch_bytes)[:300]
    return 200, {
        "url": f"{ctx.base}/repos/{ctx.repo.full_name}/compare/{ctx.params['basehead']}",
        "html_url": f"https://github.example/{ctx.repo.full_name}/compare/{ctx.params['basehead']}",
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "base_commit": commit_json(ctx, ctx.repo, base),
        "merge_base_commit": commit_json(ctx, ctx.repo, merge_base),
        "commits": [commit_json(ctx, ctx.repo, s) for s in git.rev_list(merge_base, head)[:250]],
        "files": [file_json(ctx, ctx.repo, f, head) for f in files],
    }


@route("GET", "/repos/{owner}/{repo}/contents/{path}")
def contents(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    ref = ctx.query.get("ref", ctx.repo.default_branch)
    sha = ctx.repo.git.resolve(ref)
    data = ctx.repo.git.file_at(sha, ctx.params["path"]) if sha else None
    if data is None:
        raise ApiError(404, "Not Found")
    path = ctx.params["path"]
    return 200, {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.encodebytes(data).decode(),
        "sha": ctx.repo.git.write_blob(data),
        "url": f"{ctx.base}/repos/{ctx.repo.full_name}/contents/{quote(path)}?ref={ref}",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": f"{ctx.base}/repos/{ctx.repo.full_name}/contents/{quote(path)}"},
    }


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    sha = ctx.params["file_sha"]
    if ctx.repo.git.object_type(sha) != "blob":
        raise ApiError(404, "Not Found")
    data = ctx.repo.git.read_blob(sha)
    return 200, {
        "sha": sha,
        "node_id": f"B_{sha}",
        "size": len(data),
        "url": f"{ctx.base}/repos/{ctx.repo.full_name}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


def tree_json(ctx: Ctx, repo: Repo, sha: str, recursive: bool) -> dict[str, Any]:
    entries = repo.git.ls_tree(sha, recursive)
    for e in entries:
        kind = "blobs" if e["type"] == "blob" else "trees"
        e["url"] = f"{ctx.base}/repos/{repo.full_name}/git/{kind}/{e['sha']}"
    return {
        "sha": sha,
        "url": f"{ctx.base}/repos/{repo.full_name}/git/trees/{sha}",
        "tree": entries,
        "truncated": False,
    }


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    sha = ctx.repo.git.resolve(ctx.params["tree_sha"]) or ctx.params["tree_sha"]
    if ctx.repo.git.object_type(sha) == "commit":
        sha = ctx.repo.git.tree_of(sha)
    if ctx.repo.git.object_type(sha) != "tree":
        raise ApiError(404, "Not Found")
    return 200, tree_json(
        ctx, ctx.repo, sha, ctx.query.get("recursive") not in (None, "", "0", "false")
    )


def git_commit_json(ctx: Ctx, repo: Repo, sha: str) -> dict[str, Any]:
    full = commit_json(ctx, repo, sha)
    inner = full["commit"]
    return {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": f"{ctx.base}/repos/{repo.full_name}/git/commits/{sha}",
        "html_url": full["html_url"],
        "author": inner["author"],
        "committer": inner["committer"],
        "message": inner["message"],
        "tree": inner["tree"],
        "parents": full["parents"],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
        },
    }


@route("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_git_commit(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    if ctx.repo.git.object_type(ctx.params["commit_sha"]) != "commit":
        raise ApiError(404, "Not Found")
    return 200, git_commit_json(ctx, ctx.repo, ctx.params["commit_sha"])


def ref_json(ctx: Ctx, repo: Repo, branch: str, sha: str) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": f"REF_{branch}",
        "url": f"{ctx.base}/repos/{repo.full_name}/git/refs/heads/{branch}",
        "object": {
            "type": "commit",
            "sha": sha,
            "url": f"{ctx.base}/repos/{repo.full_name}/git/commits/{sha}",
        },
    }


@route("GET", "/repos/{owner}/{repo}/git/ref/heads/{path}")
def get_ref(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "read")
    assert ctx.repo is not None
    sha = ctx.repo.git.ref(ctx.params["path"])
    if sha is None:
        raise ApiError(404, "Not Found")
    return 200, ref_json(ctx, ctx.repo, ctx.params["path"], sha)


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def permission(ctx: Ctx) -> tuple[int, Any]:
    assert ctx.repo is not None
    login = ctx.params["username"]
    if login not in ctx.state.users:
        raise ApiError(404, "Not Found")
    level = ctx.state.collaborators.get((ctx.repo.full_name, login), "none")
    legacy = {"maintain": "write", "triage": "read"}.get(level, level)
    return 200, {
        "permission": legacy,
        "role_name": level,
        "user": ctx.state.user(login).to_json(ctx.base),
    }


# --- reviews and comments -----------------------------------------------------------------
def _for_pull(items: list[dict[str, Any]], repo: str, number: int) -> list[dict[str, Any]]:
    return [i for i in items if i["_repo"] == repo and i["_number"] == number]


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    items = [public(r) for r in _for_pull(ctx.state.reviews, pull.repo, pull.number)]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/reviews", items)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_review_comments(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    items = [public(c) for c in _for_pull(ctx.state.review_comments, pull.repo, pull.number)]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/comments", items)


def _find(items: list[dict[str, Any]], repo: Repo | None, item_id: str) -> dict[str, Any]:
    assert repo is not None
    for item in items:
        if item["id"] == int(item_id) and item["_repo"] == repo.full_name:
            return item
    raise ApiError(404, "Not Found")


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "read")
    return 200, public(_find(ctx.state.review_comments, ctx.repo, ctx.params["comment_id"]))


def commentable(files: tuple[FileDiff, ...], c: dict[str, Any]) -> str | None:
    """GitHub's reason for refusing draft comment ``c`` on this diff, or None."""
    match = [f for f in files if f.filename == c["path"]]
    if not match:
        return "Pull request review thread path is invalid"
    hunks = match[0].hunks
    if not hunks:
        return "Pull request review thread diff hunk can't be blank"
    if "position" in c and "line" not in c:
        return None
    side = c.get("side", "RIGHT")
    if side not in ("LEFT", "RIGHT"):
        return "Pull request review thread side is invalid"
    line = c.get("line")
    if not isinstance(line, int):
        return "Line could not be resolved"
    lines_of = (lambda h: h.left) if side == "LEFT" else (lambda h: h.right)
    hunk = next((h for h in hunks if line in lines_of(h)), None)
    if hunk is None:
        return "Pull request review thread line must be part of the diff"
    if "start_line" in c:
        start_side = c.get("start_side", side)
        start_lines = hunk.left if start_side == "LEFT" else hunk.right
        if c["start_line"] not in start_lines:
            return (
                "Pull request review thread start line must be part of the same hunk as the line."
            )
        if start_side == side and c["start_line"] >= line:
            return "Pull request review thread start line must precede the end line."
    return None


def _diff_hunk(f: FileDiff | None) -> str:
    return (f.patch or "").split("\n@@", 1)[0] if f else ""


def make_review_comment(
    ctx: Ctx,
    pull: Pull,
    c: dict[str, Any],
    commit_id: str,
    review_id: int | None,
    files: tuple[FileDiff, ...],
) -> dict[str, Any]:
    cid = ctx.state.next_id()
    url = f"{ctx.base}/repos/{pull.repo}/pulls/comments/{cid}"
    f = next((f for f in files if f.filename == c["path"]), None)
    return {
        "_repo": pull.repo,
        "_number": pull.number,
        "id": cid,
        "node_id": f"PRRC_{cid}",
        "url": url,
        "pull_request_review_id": review_id,
        "diff_hunk": _diff_hunk(f),
        "path": c["path"],
        "position": c.get("position"),
        "original_position": c.get("position"),
        "commit_id": commit_id,
        "original_commit_id": commit_id,
        "user": actor(ctx),
        "body": c["body"],
        "created_at": iso(ctx.state.clock()),
        "updated_at": iso(ctx.state.clock()),
        "html_url": f"https://github.example/{pull.repo}/pull/{pull.number}#discussion_r{cid}",
        "pull_request_url": f"{ctx.base}/repos/{pull.repo}/pulls/{pull.number}",
        "author_association": "NONE",
        "_links": {"self": {"href": url}},
        "line": c.get("line"),
        "original_line": c.get("line"),
        "side": c.get("side", "RIGHT"),
        "start_line": c.get("start_line"),
        "original_start_line": c.get("start_line"),
        "start_side": c.get("start_side") if "start_line" in c else None,
        "subject_type": "line",
    }


def _commit_in_pull(
    ctx: Ctx, pull: Pull, commit_id: str | None
) -> tuple[str, tuple[FileDiff, ...]]:
    base_repo, _, _, head_sha, merge_base = pull_parts(ctx.state, pull)
    commit = commit_id or head_sha
    if commit not in base_repo.git.rev_list(merge_base, head_sha):
        raise unprocessable("commit_id is not part of the pull request")
    return commit, base_repo.git.diff(merge_base, commit, ctx.state.max_patch_bytes)


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "write")
    pull = get_pull(ctx)
    body = ctx.body or {}
    event = body.get("event")
    comments = body.get("comments") or []
    check_body_length(body.get("body"), "PullRequestReview")
    for c in comments:
        check_body_length(c.get("body"), "PullRequestReviewComment")
    if event in ("COMMENT", "REQUEST_CHANGES") and not body.get("body") and not comments:
        raise unprocessable(f"Review body is required for an event of type {event}")
    commit, files = _commit_in_pull(ctx, pull, body.get("commit_id"))
    for c in comments:
        problem = commentable(files, c)
        if problem:
            raise unprocessable(problem)
    user = actor(ctx)
    mine = _for_pull(ctx.state.reviews, pull.repo, pull.number)
    if event is None and any(
        r["state"] == "PENDING" and r["user"]["id"] == user["id"] for r in mine
    ):
        raise unprocessable("User can only have one pending review per pull request")
    rid = ctx.state.next_id()
    state = {None: "PENDING", "COMMENT": "COMMENTED", "APPROVE": "APPROVED"}.get(
        event, "CHANGES_REQUESTED"
    )
    review = {
        "_repo": pull.repo,
        "_number": pull.number,
        "id": rid,
        "node_id": f"PRR_{rid}",
        "user": user,
        "body": body.get("body", ""),
        "state": state,
        "html_url": f"https://github.example/{pull.repo}/pull/{pull.number}#pullrequestreview-{rid}",
        "pull_request_url": f"{ctx.base}/repos/{pull.repo}/pulls/{pull.number}",
        "_links": {"html": {"href": ""}, "pull_request": {"href": ""}},
        "commit_id": commit,
        "author_association": "NONE",
        "submitted_at": None if event is None else iso(ctx.state.clock()),
    }
    ctx.state.reviews.append(review)
    for c in comments:
        ctx.state.review_comments.append(make_review_comment(ctx, pull, c, commit, rid, files))
    return 200, public(review)


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def create_review_comment(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "write")
    pull = get_pull(ctx)
    body = ctx.body or {}
    check_body_length(body.get("body"), "PullRequestReviewComment")
    if "in_reply_to" in body:
        parent = _find(ctx.state.review_comments, ctx.repo, str(body["in_reply_to"]))
        return _reply(ctx, pull, parent, body["body"])
    commit, files = _commit_in_pull(ctx, pull, body.get("commit_id"))
    problem = commentable(files, body)
    if problem:
        raise unprocessable(problem)
    comment = make_review_comment(ctx, pull, body, commit, None, files)
    ctx.state.review_comments.append(comment)
    return 201, public(comment)


def _reply(ctx: Ctx, pull: Pull, parent: dict[str, Any], text: str) -> tuple[int, Any]:
    if parent["_number"] != pull.number:
        raise ApiError(404, "Not Found")
    if parent.get("in_reply_to_id") is not None:
        # Documented: the id must be a top-level review comment; replies to replies
        # are not supported.
        raise unprocessable(message="Replies to replies are not supported")
    comment = dict(parent)
    cid = ctx.state.next_id()
    comment.update(
        id=cid,
        node_id=f"PRRC_{cid}",
        url=f"{ctx.base}/repos/{pull.repo}/pulls/comments/{cid}",
        body=text,
        user=actor(ctx),
        in_reply_to_id=parent["id"],
        pull_request_review_id=None,
    )
    ctx.state.review_comments.append(comment)
    return 201, public(comment)


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies")
def reply(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "write")
    pull = get_pull(ctx)
    check_body_length((ctx.body or {}).get("body"), "PullRequestReviewComment")
    parent = _find(ctx.state.review_comments, ctx.repo, ctx.params["comment_id"])
    return _reply(ctx, pull, parent, ctx.body["body"])


def issue_comment_json(ctx: Ctx, repo: str, number: int, text: str) -> dict[str, Any]:
    cid = ctx.state.next_id()
    return {
        "_repo": repo,
        "_number": number,
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"{ctx.base}/repos/{repo}/issues/comments/{cid}",
        "html_url": f"https://github.example/{repo}/pull/{number}#issuecomment-{cid}",
        "issue_url": f"{ctx.base}/repos/{repo}/issues/{number}",
        "body": text,
        "user": actor(ctx) if ctx.token else None,
        "created_at": iso(ctx.state.clock()),
        "updated_at": iso(ctx.state.clock()),
        "author_association": "NONE",
    }


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_issue_comments(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "issues", "read") if "issues" in (
        ctx.token.permissions if ctx.token else {}
    ) else need(ctx, "pull_requests", "read")
    assert ctx.repo is not None
    number = int(ctx.params["issue_number"])
    items = [public(c) for c in _for_pull(ctx.state.issue_comments, ctx.repo.full_name, number)]
    return paginate(ctx, f"/repos/{ctx.repo.full_name}/issues/{number}/comments", items)


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_issue_comment(ctx: Ctx) -> tuple[int, Any]:
    assert ctx.repo is not None
    assert ctx.token is not None
    if "issues" in ctx.token.permissions:
        need(ctx, "issues", "write")
    else:
        need(ctx, "pull_requests", "write")
    number = int(ctx.params["issue_number"])
    if (ctx.repo.full_name, number) not in ctx.state.pulls:
        raise ApiError(404, "Not Found")
    text = (ctx.body or {}).get("body", "")
    if len(text) > MAX_BODY:
        raise unprocessable(
            {
                "resource": "IssueComment",
                "code": "unprocessable",
                "field": "data",
                "message": f"Body is too long (maximum is {MAX_BODY} characters)",
            },
            message="Validation Failed",
        )
    comment = issue_comment_json(ctx, ctx.repo.full_name, number, text)
    ctx.state.issue_comments.append(comment)
    return 201, public(comment)


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_issue_comment(ctx: Ctx) -> tuple[int, Any]:
    return 200, public(_find(ctx.state.issue_comments, ctx.repo, ctx.params["comment_id"]))


def _react(ctx: Ctx, items: list[dict[str, Any]], kind: str) -> tuple[int, Any]:
    comment = _find(items, ctx.repo, ctx.params["comment_id"])
    user = actor(ctx)
    content = ctx.body["content"]
    for r in ctx.state.reactions:
        if (
            r["_comment"] == (kind, comment["id"])
            and r["content"] == content
            and r["user"]["id"] == user["id"]
        ):
            return 200, public(r)
    rid = ctx.state.next_id()
    reaction = {
        "_comment": (kind, comment["id"]),
        "id": rid,
        "node_id": f"REA_{rid}",
        "user": user,
        "content": content,
        "created_at": iso(ctx.state.clock()),
    }
    ctx.state.reactions.append(reaction)
    return 201, public(reaction)


@route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def react_issue(ctx: Ctx) -> tuple[int, Any]:
    return _react(ctx, ctx.state.issue_comments, "issue_comment")


@route("POST", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
def react_review(ctx: Ctx) -> tuple[int, Any]:
    return _react(ctx, ctx.state.review_comments, "review_comment")


# --- check runs ---------------------------------------------------------------------------
def _check_output(body: dict[str, Any]) -> None:
    output = body.get("output") or {}
    for key, cap in (("summary", 65_535), ("text", 65_535)):
        if len(output.get(key) or "") > cap:
            raise unprocessable(f"output.{key} is too long (maximum is {cap} characters)")


@route("POST", "/repos/{owner}/{repo}/check-runs")
def create_check_run(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "checks", "write")
    assert ctx.repo is not None
    _check_output(ctx.body)
    rid = ctx.state.next_id()
    run = {
        "_repo": ctx.repo.full_name,
        "_number": None,
        "id": rid,
        "node_id": f"CR_{rid}",
        "url": f"{ctx.base}/repos/{ctx.repo.full_name}/check-runs/{rid}",
        "html_url": f"https://github.example/{ctx.repo.full_name}/runs/{rid}",
        "details_url": ctx.body.get("details_url"),
        "external_id": ctx.body.get("external_id"),
        "status": ctx.body.get("status", "queued"),
        "conclusion": ctx.body.get("conclusion"),
        "head_sha": ctx.body["head_sha"],
        "name": ctx.body["name"],
        "started_at": ctx.body.get("started_at", iso(ctx.state.clock())),
        "completed_at": ctx.body.get("completed_at"),
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": "",
            **(ctx.body.get("output") or {}),
        },
        "app": None,
        "pull_requests": [],
    }
    if ctx.body.get("conclusion"):
        run["status"] = "completed"
    ctx.state.check_runs.append(run)
    return 201, public(run)


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check_run(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "checks", "write")
    run = _find(ctx.state.check_runs, ctx.repo, ctx.params["check_run_id"])
    _check_output(ctx.body)
    for key in ("name", "details_url", "external_id", "status", "conclusion", "completed_at"):
        if key in ctx.body:
            run[key] = ctx.body[key]
    if ctx.body.get("conclusion"):
        run["status"] = "completed"
    if "output" in ctx.body:
        run["output"] = {**run["output"], **ctx.body["output"]}
    return 200, public(run)


# --- git data -----------------------------------------------------------------------------
@route("POST", "/repos/{owner}/{repo}/git/blobs")
def create_blob(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "write")
    assert ctx.repo is not None
    content = ctx.body["content"]
    data = base64.b64decode(content) if ctx.body.get("encoding") == "base64" else content.encode()
    sha = ctx.repo.git.write_blob(data)
    return 201, {"sha": sha, "url": f"{ctx.base}/repos/{ctx.repo.full_name}/git/blobs/{sha}"}


@route("POST", "/repos/{owner}/{repo}/git/trees")
def create_tree(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "write")
    assert ctx.repo is not None
    git = ctx.repo.git
    entries: dict[str, tuple[str, str] | None] = {}
    for item in ctx.body["tree"]:
        if item.get("type", "blob") != "blob":
            raise unprocessable(message="Only blob entries are supported by the emulator")
        sha = git.write_blob(item["content"].encode()) if "content" in item else item.get("sha")
        if sha is not None and git.object_type(sha) != "blob":
            raise unprocessable(
                message=f"tree.sha {sha} wasn't found",
            )
        entries[item["path"]] = None if sha is None else (item.get("mode", "100644"), sha)
    base_tree = ctx.body.get("base_tree")
    if base_tree and git.object_type(base_tree) != "tree":
        raise unprocessable(message="base_tree is not a valid tree oid")
    tree = git.build_tree(base_tree, entries)
    return 201, tree_json(ctx, ctx.repo, tree, recursive=False)


@route("POST", "/repos/{owner}/{repo}/git/commits")
def create_commit(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "write")
    assert ctx.repo is not None
    git = ctx.repo.git
    if git.object_type(ctx.body["tree"]) != "tree":
        raise unprocessable(message="Tree SHA does not exist")
    parents = ctx.body.get("parents", [])
    if any(git.object_type(p) != "commit" for p in parents):
        raise unprocessable(message="Parent SHA does not exist or is not a commit object")
    sha = git.commit_tree(ctx.body["tree"], parents, ctx.body["message"])
    return 201, git_commit_json(ctx, ctx.repo, sha)


def _touches_workflows(git: GitRepo, old: str | None, new: str) -> str | None:
    changed = git.text(
        "diff", "--name-only", old or git.text("hash-object", "-t", "tree", "/dev/null"), new
    )
    for path in changed.splitlines():
        if path.startswith(".github/workflows/"):
            return path
    return None


def _move_ref(ctx: Ctx, branch: str, sha: str, force: bool, create: bool) -> None:
    assert ctx.repo is not None
    assert ctx.token is not None
    git = ctx.repo.git
    if git.object_type(sha) != "commit":
        raise unprocessable(message="Object does not exist")
    current = git.ref(branch)
    if create and current is not None:
        raise unprocessable(message="Reference already exists")
    if not create and current is None:
        raise unprocessable(message="Reference does not exist")
    if current and not force and not git.is_ancestor(current, sha):
        raise unprocessable(message="Update is not a fast forward")
    workflow = _touches_workflows(git, current, sha)
    if workflow and LEVEL.get(ctx.token.permissions.get("workflows", ""), 0) < 2:
        raise unprocessable(
            message=f"refusing to allow a GitHub App to create or update workflow `{workflow}` "
            "without `workflows` permission"
        )
    git.set_ref(branch, sha)


@route("PATCH", "/repos/{owner}/{repo}/git/refs/heads/{path}")
def update_ref(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "write")
    assert ctx.repo is not None
    branch = ctx.params["path"]
    _move_ref(ctx, branch, ctx.body["sha"], bool(ctx.body.get("force", False)), create=False)
    return 200, ref_json(ctx, ctx.repo, branch, ctx.body["sha"])


@route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "contents", "write")
    assert ctx.repo is not None
    ref = ctx.body["ref"]
    if not ref.startswith("refs/heads/"):
        raise unprocessable(message="Reference name must start with refs/heads/")
    branch = ref[len("refs/heads/") :]
    _move_ref(ctx, branch, ctx.body["sha"], force=False, create=True)
    return 201, ref_json(ctx, ctx.repo, branch, ctx.body["sha"])


# --- dispatch -----------------------------------------------------------------------------
# Templates as GitHub's description spells them, where this table's differ.
SCHEMA_TEMPLATE = {
    "/repos/{owner}/{repo}/git/refs/heads/{path}": "/repos/{owner}/{repo}/git/refs/{ref}",
}


def _private(state: State, method: str, path: str) -> Response:
    with state.lock:
        if path == "/_emulator/requests":
            return JSONResponse(
                [
                    {
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "status": r.status,
                        "body": r.body,
                    }
                    for r in state.requests
                ]
            )
        if path == "/_emulator/schema_violations":
            return JSONResponse(state.schema_violations)
        if path == "/_emulator/reviews":
            return JSONResponse(
                {
                    "reviews": [
                        public(r) | {"repo": r["_repo"], "number": r["_number"]}
                        for r in state.reviews
                    ],
                    "review_comments": [public(c) for c in state.review_comments],
                    "issue_comments": [public(c) for c in state.issue_comments],
                    "check_runs": [public(c) for c in state.check_runs],
                }
            )
    return JSONResponse({"message": "Not Found"}, status_code=404)


def _fault(state: State, method: str, path: str) -> Any:
    for fault in state.faults:
        if fault.remaining > 0 and fault.method in (method, "*") and fault.pattern.search(path):
            fault.remaining -= 1
            return fault
    return None


def _secondary_limit(state: State, token: Token | None, method: str, path: str) -> None:
    if state.content_limit_per_minute is None or token is None or method == "GET":
        return
    if not CONTENT_CREATING.search(path):
        return
    now = state.clock()
    recent = [(i, t) for (i, t) in state.content_writes if now - t < 60]
    state.content_writes = recent
    if sum(1 for i, _ in recent if i == token.installation_id) >= state.content_limit_per_minute:
        raise ApiError(
            403,
            "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again.",
            headers={"retry-after": str(state.content_limit_retry_after)},
        )
    state.content_writes.append((token.installation_id, now))


def make_app(state: State, prefix: str = "") -> Starlette:
    async def dispatch(request: Request) -> Response:
        method = request.method
        path = request.url.path
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        if path.startswith("/_emulator/"):
            return _private(state, method, path)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = "<invalid json>"
        query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
        with state.lock:
            fault = _fault(state, method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{prefix}"
        with state.lock:
            status, payload, headers = _handle(
                state, request, method, path, query, body, base, fault
            )
            state.requests.append(RecordedRequest(method, path, request.url.query, status, body))
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-github-api-version-selected": "2022-11-28",
            **headers,
        }
        if status == 204:
            return Response(status_code=204, headers=headers)
        return JSONResponse(payload, status_code=status, headers=headers)

    return Starlette(
        routes=[Route("/{rest:path}", dispatch, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])]
    )


def _handle(
    state: State,
    request: Request,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    base: str,
    fault: Any,
) -> tuple[int, Any, dict[str, str]]:
    if fault is not None and not fault.then_pass:
        return fault.status, fault.body, dict(fault.headers)
    for r_method, template, pattern, handler, auth in ROUTES:
        match = pattern.match(path)
        if r_method != method or match is None:
            continue
        params = match.groupdict()
        try:
            if method in ("POST", "PATCH", "PUT"):
                problems = schema.validate(method, SCHEMA_TEMPLATE.get(template, template), body)
                if problems:
                    state.schema_violations.append(f"{method} {path}: " + "; ".join(problems))
                    raise ApiError(
                        400, "Request body does not match GitHub's schema: " + "; ".join(problems)
                    )
            token = app_id = None
            repo = None
            if auth == "app":
                app_id = authenticate_app(state, request)
            elif auth == "user":
                token = authenticate_token(state, request)
            else:
                token = authenticate_token(state, request)
                name = f"{params.get('owner')}/{params.get('repo')}"
                repo = state.repos.get(name)
                inst = state.installations[token.installation_id]
                scoped = token.repositories is None or name in token.repositories
                if repo is None or name not in inst.repositories or not scoped:
                    raise ApiError(404, "Not Found")
                _secondary_limit(state, token, method, path)
            ctx = Ctx(state, base, method, params, query, body, token, app_id, repo)
            result = handler(ctx)
        except ApiError as exc:
            return exc.status, exc.body(), exc.headers
        if len(result) == 2:
            return result[0], result[1], {}
        return result  # type: ignore[return-value]
    return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
