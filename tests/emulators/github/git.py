"""Git data: blobs, trees, commits and branch refs, read and written.

Writes keep GitHub's rules: a ref update must be a fast forward unless forced,
must point at a commit, and may not touch ``.github/workflows/`` without the
``workflows`` permission.
"""

from __future__ import annotations

import base64
from typing import Any

from .api import LEVEL, ApiError, Ctx, need, route, unprocessable
from .gitrepo import GitRepo
from .repos import commit_json
from .state import Repo


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
    """GitHub cuts a recursive listing past its limit (100,000 entries) and says so."""
    entries = repo.git.ls_tree(sha, recursive)
    truncated = recursive and len(entries) > ctx.state.max_tree_entries
    entries = entries[: ctx.state.max_tree_entries] if truncated else entries
    for e in entries:
        kind = "blobs" if e["type"] == "blob" else "trees"
        e["url"] = f"{ctx.base}/repos/{repo.full_name}/git/{kind}/{e['sha']}"
    return {
        "sha": sha,
        "url": f"{ctx.base}/repos/{repo.full_name}/git/trees/{sha}",
        "tree": entries,
        "truncated": truncated,
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
