"""Repositories: the repository itself, contents, compare, collaborator permissions,
and the JSON shapes of repositories, commits and diff files other resources reuse."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from .api import ApiError, Ctx, need, route
from .gitrepo import FileDiff
from .state import Repo


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
        "html_url": f"{ctx.state.web_url}/{repo.full_name}",
        # Git's smart HTTP on the same host, outside the API prefix (``git_http``).
        "clone_url": f"{ctx.base.removesuffix(ctx.state.api_prefix)}/{repo.full_name}.git",
        "default_branch": repo.default_branch,
        "pulls_url": url + "/pulls{/number}",
    }


def file_json(ctx: Ctx, repo: Repo, f: FileDiff, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sha": f.sha,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": f"{ctx.state.web_url}/{repo.full_name}/blob/{ref}/{f.filename}",
        "raw_url": f"{ctx.state.web_url}/{repo.full_name}/raw/{ref}/{f.filename}",
        "contents_url": f"{ctx.base}/repos/{repo.full_name}/contents/{quote(f.filename)}?ref={ref}",
    }
    if f.patch is not None:
        out["patch"] = f.patch
    if f.previous_filename is not None:
        out["previous_filename"] = f.previous_filename
    return out


def commit_json(ctx: Ctx, repo: Repo, sha: str) -> dict[str, Any]:
    info = repo.git.commit_info(sha)
    person = info["author"]
    return {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": f"{ctx.base}/repos/{repo.full_name}/commits/{sha}",
        "html_url": f"{ctx.state.web_url}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{ctx.base}/repos/{repo.full_name}/commits/{sha}/comments",
        # The GitHub accounts of author and committer: none for the emulator's git identity.
        "author": None,
        "committer": None,
        "commit": {
            "comment_count": 0,
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


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> tuple[int, Any]:
    assert ctx.repo is not None
    return 200, repo_json(ctx, ctx.repo)


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
        "html_url": f"{ctx.state.web_url}/{ctx.repo.full_name}/compare/{ctx.params['basehead']}",
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
