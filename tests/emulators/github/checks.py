"""Check runs: created on a commit the repository knows, then updated to completion.

Like GitHub, a run on a SHA the repository does not have (a short SHA, a branch
name, a commit of an unfetched fork) is refused with 422 ``No commit found for
SHA: ...``; the head commits of the repository's pull requests from forks count
as known, since GitHub keeps them under ``refs/pull/N/head``.
"""

from __future__ import annotations

import re
from typing import Any

from .api import Ctx, find_item, iso, need, public, route, unprocessable
from .pulls import pull_parts
from .state import Repo

_SHA = re.compile(r"[0-9a-f]{40}")


def _known_commit(ctx: Ctx, repo: Repo, sha: str) -> None:
    def known() -> bool:
        return bool(_SHA.fullmatch(sha)) and repo.git.object_type(sha) == "commit"

    if not known():
        for pull in ctx.state.pulls.values():
            if pull.repo == repo.full_name and pull.head_repo != pull.repo:
                pull_parts(ctx.state, pull)
    if not known():
        raise unprocessable(message=f"No commit found for SHA: {sha}")


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
    _known_commit(ctx, ctx.repo, ctx.body["head_sha"])
    rid = ctx.state.next_id()
    run = {
        "_repo": ctx.repo.full_name,
        "_number": None,
        "id": rid,
        "node_id": f"CR_{rid}",
        "url": f"{ctx.base}/repos/{ctx.repo.full_name}/check-runs/{rid}",
        "html_url": f"{ctx.state.web_url}/{ctx.repo.full_name}/runs/{rid}",
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
    run = find_item(ctx.state.check_runs, ctx.repo, ctx.params["check_run_id"])
    _check_output(ctx.body)
    for key in ("name", "details_url", "external_id", "status", "conclusion", "completed_at"):
        if key in ctx.body:
            run[key] = ctx.body[key]
    if ctx.body.get("conclusion"):
        run["status"] = "completed"
    if "output" in ctx.body:
        run["output"] = {**run["output"], **ctx.body["output"]}
    return 200, public(run)


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_check_runs_for_ref(ctx: Ctx) -> tuple[int, Any]:
    """GitHub's shape: ``{"total_count", "check_runs"}``, newest first, ``check_name`` and
    ``filter`` (``latest`` keeps the newest run of each name; ``all`` keeps every run)."""
    need(ctx, "checks", "read")
    assert ctx.repo is not None
    runs = [
        r
        for r in reversed(ctx.state.check_runs)
        if r["_repo"] == ctx.repo.full_name and r["head_sha"] == ctx.params["ref"]
    ]
    if "check_name" in ctx.query:
        runs = [r for r in runs if r["name"] == ctx.query["check_name"]]
    if ctx.query.get("filter", "latest") == "latest":
        seen: set[str] = set()
        runs = [r for r in runs if not (r["name"] in seen or seen.add(r["name"]))]
    return 200, {"total_count": len(runs), "check_runs": [public(r) for r in runs]}
