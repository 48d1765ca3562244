"""Pull request reviews and review comments: listing, posting, replies.

A review's inline comments are all checked against the diff (``anchors``) before
anything is stored, so a refused review leaves no trace, as on GitHub.
"""

from __future__ import annotations

from typing import Any

from .anchors import anchor, commentable
from .api import (
    ApiError,
    Ctx,
    actor,
    check_body_length,
    find_item,
    for_pull,
    iso,
    need,
    paginate,
    public,
    route,
    unprocessable,
)
from .gitrepo import FileDiff
from .pulls import get_pull, pull_parts
from .state import Pull


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    items = [public(r) for r in for_pull(ctx.state.reviews, pull.repo, pull.number)]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/reviews", items)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_review_comments(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    need(ctx, "pull_requests", "read")
    pull = get_pull(ctx)
    items = [public(c) for c in for_pull(ctx.state.review_comments, pull.repo, pull.number)]
    return paginate(ctx, f"/repos/{pull.repo}/pulls/{pull.number}/comments", items)


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(ctx: Ctx) -> tuple[int, Any]:
    need(ctx, "pull_requests", "read")
    return 200, public(find_item(ctx.state.review_comments, ctx.repo, ctx.params["comment_id"]))


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
    position, side, line = anchor(f, c)
    return {
        "_repo": pull.repo,
        "_number": pull.number,
        "id": cid,
        "node_id": f"PRRC_{cid}",
        "url": url,
        "pull_request_review_id": review_id,
        "diff_hunk": _diff_hunk(f),
        "path": c["path"],
        "position": position,
        "original_position": position,
        "commit_id": commit_id,
        "original_commit_id": commit_id,
        "user": actor(ctx),
        "body": c["body"],
        "created_at": iso(ctx.state.clock()),
        "updated_at": iso(ctx.state.clock()),
        "html_url": f"{ctx.state.web_url}/{pull.repo}/pull/{pull.number}#discussion_r{cid}",
        "pull_request_url": f"{ctx.base}/repos/{pull.repo}/pulls/{pull.number}",
        "author_association": "NONE",
        "_links": {"self": {"href": url}},
        "line": line,
        "original_line": line,
        "side": side,
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
    mine = for_pull(ctx.state.reviews, pull.repo, pull.number)
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
        "html_url": f"{ctx.state.web_url}/{pull.repo}/pull/{pull.number}#pullrequestreview-{rid}",
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
        parent = find_item(ctx.state.review_comments, ctx.repo, str(body["in_reply_to"]))
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
    parent = find_item(ctx.state.review_comments, ctx.repo, ctx.params["comment_id"])
    return _reply(ctx, pull, parent, ctx.body["body"])
