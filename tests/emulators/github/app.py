"""The emulator's REST API: one Starlette dispatcher over the resource modules' route table.

Each route names GitHub's path template, which is also how its request body is
checked against the official schema (``schema``). ``dispatch`` owns everything
about the HTTP shape shared by all resources: the ``/_emulator`` private API,
scripted faults, URL bases, the headers a request must carry (``headers``),
authentication, rate limits (``limits``) and the headers every answer carries
(rate limits, ``x-github-request-id``, API version).

Resource modules: ``auth`` (App JWT, installation tokens), ``repos`` (repository,
contents, compare, permissions), ``pulls``, ``reviews`` (with ``anchors`` for diff
positions), ``issues`` (comments, reactions), ``checks`` and ``git`` (git data).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import (
    auth,
    checks,
    git,
    git_http,
    headers,
    hooks,
    issues,
    limits,
    pulls,
    repos,
    reviews,
    schema,
)
from .api import DOCS, ROUTES, ApiError, Ctx, invalid_request, public
from .state import RecordedRequest, State

# Importing the resource modules registers their routes.
RESOURCES = (auth, checks, git, hooks, issues, pulls, repos, reviews)
# Templates as GitHub's description spells them, where this table's differ.
SCHEMA_TEMPLATE = {
    "/repos/{owner}/{repo}/git/refs/heads/{path}": "/repos/{owner}/{repo}/git/refs/{ref}",
}
_INVALID_JSON = object()


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
                        "headers": r.headers,
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
    return None if state.chaos is None else state.chaos.draw(method, path)


def make_app(state: State, prefix: str = "") -> Starlette:
    state.api_prefix = prefix
    async def dispatch(request: Request) -> Response:
        method = request.method
        path = request.url.path
        if git_http.PATH.match(path):
            return await git_http.serve(state, request, path)
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        if path.startswith("/_emulator/"):
            return _private(state, method, path)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = _INVALID_JSON
        query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
        with state.lock:
            fault = _fault(state, method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{prefix}"
        with state.lock:
            try:
                headers.check(state, request)
                rate = limits.charge(state, request)
            except ApiError as exc:
                status, payload, answer = exc.status, exc.body(), exc.headers
            else:
                status, payload, answer = _handle(
                    state, request, method, path, query, body, base, fault
                )
                answer = {**rate, **answer}
            recorded = "<invalid json>" if body is _INVALID_JSON else body
            state.requests.append(
                RecordedRequest(
                    method, path, request.url.query, status, recorded, headers.recorded(request)
                )
            )
        answer = {
            "x-github-api-version-selected": "2022-11-28",
            "x-github-request-id": limits.request_id(),
            **answer,
        }
        if status == 204:
            return Response(status_code=204, headers=answer)
        return JSONResponse(payload, status_code=status, headers=answer)

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
    for r_method, template, pattern, handler, auth_kind in ROUTES:
        match = pattern.match(path)
        if r_method != method or match is None:
            continue
        params = match.groupdict()
        try:
            result = _run(
                state, request, path, template, handler, auth_kind, params, query, body, base
            )
        except ApiError as exc:
            return exc.status, exc.body(), exc.headers
        if len(result) == 2:
            return result[0], result[1], {}
        return result  # type: ignore[return-value]
    return 404, {"message": "Not Found", "documentation_url": DOCS}, {}


def _run(
    state: State,
    request: Request,
    path: str,
    template: str,
    handler: Any,
    auth_kind: str,
    params: dict[str, str],
    query: dict[str, str],
    body: Any,
    base: str,
) -> Any:
    """Parse, validate and authenticate one routed request, then call its handler.

    The order is GitHub's: unparsable JSON is 400, a body its schema refuses is 422
    (recorded in ``State.schema_violations``), then credentials and scope.
    """
    method = request.method
    if method in ("POST", "PATCH", "PUT"):
        if body is _INVALID_JSON:
            raise ApiError(400, "Problems parsing JSON")
        problems = schema.validate(method, SCHEMA_TEMPLATE.get(template, template), body)
        if problems:
            state.schema_violations.append(f"{method} {path}: " + "; ".join(problems))
            raise invalid_request(template, problems)
    token = app_id = None
    repo = None
    if auth_kind == "app":
        app_id = auth.authenticate_app(state, request)
    elif auth_kind == "user":
        token = auth.authenticate_token(state, request)
    else:
        token = auth.authenticate_token(state, request)
        name = f"{params.get('owner')}/{params.get('repo')}"
        repo = state.repos.get(name)
        inst = state.installations[token.installation_id]
        scoped = token.repositories is None or name in token.repositories
        if repo is None or name not in inst.repositories or not scoped:
            raise ApiError(404, "Not Found")
        limits.secondary_limit(state, token, method, path)
    return handler(Ctx(state, base, method, params, query, body, token, app_id, repo))
