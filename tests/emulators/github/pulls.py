"""Pull requests: the pull, its files and its commits.

A fork's head commits are fetched into the base repository (``refs/pull/N/head``)
whenever a pull is read, as GitHub makes them reachable there.
"""

from __future__ import annotations

from typing import Any

from .api import ApiError, Ctx, iso, need, paginate, route
from .repos import commit_json, file_json, repo_json
from .state import Pull, Repo, State

PULL_COMMITS_LISTED = 250


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
        "html_url": f"{ctx.state.web_url}/{pull.repo}/pull/{pull.number}",
        "issue_url": f"{ctx.base}/repos/{pull.repo}/issues/{pull.number}",
        "state": pull.state,
        "draft": pull.draft,
        "locked": False,
        "title": pull.title,
        "body": pull.body,
        "user": pull.user.to_json(ctx.base),
        "author_association": ctx.state.association(pull.repo, pull.user.login),
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


def get_pull(ctx: Ctx) -> Pull:
    assert ctx.repo is not None
    pull = ctx.state.pulls.get((ctx.repo.full_name, int(ctx.params["pull_number"])))
    if pull is None:
        raise ApiError(404, "Not Found")
    return pull


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


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def pull_commits(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    base_repo, _, _, head_sha, merge_base = pull_parts(ctx.state, pull)
    # GitHub lists at most 250 commits of a pull request, oldest first.
    shas = base_repo.git.rev_list(merge_base, head_sha)[:PULL_COMMITS_LISTED]
    items = [commit_json(ctx, base_repo, s) for s in shas]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/commits", items)
