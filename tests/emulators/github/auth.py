"""App authentication: the App's JWT, installations and installation access tokens.

JWTs are checked like GitHub does (RS256 with the App's key, ``exp`` at most 10
minutes ahead, ``iat`` not in the future beyond a minute's skew); tokens expire
after ``State.token_lifetime`` and may be narrowed to repositories and permissions.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from starlette.requests import Request

from .api import LEVEL, ApiError, Ctx, iso, paginate, route, unprocessable
from .repos import repo_json
from .state import State, Token


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
        "html_url": f"{ctx.state.web_url}/apps/{app.slug}",
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
        "html_url": f"{ctx.state.web_url}/settings/installations/{inst.id}",
        "target_type": "Organization",
        "events": [],
        "created_at": iso(0),
        "updated_at": iso(0),
    }


@route("GET", "/app/installations", auth="app")
def app_installations(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    """The App's installations, oldest first, paginated like GitHub's list."""
    mine = [i.id for i in ctx.state.installations.values() if i.app_id == ctx.app_id]
    return paginate(ctx, "/app/installations", [installation_json(ctx, i) for i in sorted(mine)])


@route("GET", "/installation/repositories", auth="user")
def installation_repositories(ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
    """The repositories an installation token reaches; a personal token is refused."""
    token = ctx.token
    assert token is not None
    if token.user is not None:
        raise ApiError(403, "Resource not accessible by personal access token")
    inst = ctx.state.installations[token.installation_id]
    names = sorted(token.repositories if token.repositories is not None else inst.repositories)
    repos = [repo_json(ctx, ctx.state.repos[n]) for n in names if n in ctx.state.repos]
    status, chunk, headers = paginate(ctx, "/installation/repositories", repos)
    return status, {"total_count": len(repos), "repositories": chunk}, headers


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
    """The personal token's user; an installation token is refused, as on GitHub."""
    if ctx.token is None or ctx.token.user is None:
        raise ApiError(403, "Resource not accessible by integration")
    return 200, ctx.state.user(ctx.token.user).to_json(ctx.base)
