"""Issue comments on pull requests (the conversation tab) and reactions on any comment.

Reactions are listed per comment (every page, ``content`` filters by kind).

An installation with the ``issues`` permission is checked against it; one without
it reaches a pull request's conversation through ``pull_requests``, as on GitHub.
Reacting twice with the same content answers 200 with the existing reaction.
"""

from __future__ import annotations

from typing import Any

from .api import (
    MAX_BODY,
    ApiError,
    Ctx,
    actor,
    find_item,
    for_pull,
    iso,
    need,
    paginate,
    public,
    route,
    unprocessable,
)


def issue_comment_json(ctx: Ctx, repo: str, number: int, text: str) -> dict[str, Any]:
    cid = ctx.state.next_id()
    return {
        "_repo": repo,
        "_number": number,
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"{ctx.base}/repos/{repo}/issues/comments/{cid}",
        "html_url": f"{ctx.state.web_url}/{repo}/pull/{number}#issuecomment-{cid}",
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
    items = [public(c) for c in for_pull(ctx.state.issue_comments, ctx.repo.full_name, number)]
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
    return 200, public(find_item(ctx.state.issue_comments, ctx.repo, ctx.params["comment_id"]))


def _react(ctx: Ctx, items: list[dict[str, Any]], kind: str) -> tuple[int, Any]:
    comment = find_item(items, ctx.repo, ctx.params["comment_id"])
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


def _reactions_of(
    ctx: Ctx, items: list[dict[str, Any]], kind: str, where: str
) -> tuple[int, Any, dict[str, str]]:
    # Reading reactions needs read access to what the comment is on, as on GitHub.
    need(ctx, "issues", "read") if "issues" in (
        ctx.token.permissions if ctx.token else {}
    ) else need(ctx, "pull_requests", "read")
    comment = find_item(items, ctx.repo, ctx.params["comment_id"])
    content = ctx.query.get("content")
    found = [
        public(r)
        for r in ctx.state.reactions
        if r["_comment"] == (kind, comment["id"]) and content in (None, r["content"])
    ]
    assert ctx.repo is not None
    path = f"/repos/{ctx.repo.full_name}/{where}/comments/{comment['id']}/reactions"
    return paginate(ctx, path, found)


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def list_issue_comment_reactions(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    return _reactions_of(ctx, ctx.state.issue_comments, "issue_comment", "issues")


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
def list_review_comment_reactions(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    return _reactions_of(ctx, ctx.state.review_comments, "review_comment", "pulls")
