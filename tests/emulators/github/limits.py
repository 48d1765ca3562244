"""GitHub's rate limits as the emulator enforces them, and the headers every answer carries.

Primary limit: each identity (an installation's tokens, an App's JWTs, or the
anonymous caller) has ``State.rate_limit`` requests per hour (``State.anonymous_rate_limit``
for the anonymous one), counted from its first request like GitHub's rolling window.
Every answer, errors included, reports the caller's window in ``x-ratelimit-limit``,
``-remaining``, ``-used``, ``-reset`` (epoch seconds) and ``-resource`` (``core``);
past the limit the answer is 403 with ``x-ratelimit-remaining: 0``.

Secondary limit (opt-in, ``GitHubEmulator.limit_content_creation``): content-creating
writes per installation per minute, answered with 403 and ``retry-after``.
"""

from __future__ import annotations

import re
import secrets

import jwt
from starlette.requests import Request

from .api import ApiError
from .state import State, Token

WINDOW = 3600.0
RATE_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
# Operations GitHub counts as content creation for its secondary limit.
CONTENT_CREATING = re.compile(
    r"/(reviews|comments|replies|reactions|check-runs(/\d+)?|git/(blobs|trees|commits|refs.*))$"
)


def request_id() -> str:
    """An ``x-github-request-id`` shaped like GitHub's (five colon-separated hex groups)."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 2, 3, 4, 4))


def identity(state: State, request: Request) -> tuple[str, str, int]:
    """(window key, how GitHub names the caller, hourly limit) for this request's credentials.

    Read without verifying: a request that then fails authentication still counts,
    against the identity it claimed or, with no usable credentials, the anonymous one.
    """
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    token = state.tokens.get(value)
    if token is not None:
        return (
            f"installation:{token.installation_id}",
            (f"installation ID {token.installation_id}"),
            state.rate_limit,
        )
    if scheme.lower() == "bearer" and value.count(".") == 2:
        try:
            app_id = int(jwt.decode(value, options={"verify_signature": False})["iss"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            app_id = None
        if app_id in state.apps:
            return f"app:{app_id}", f"app ID {app_id}", state.rate_limit
    host = request.client.host if request.client else "127.0.0.1"
    return f"anonymous:{host}", host, state.anonymous_rate_limit


def charge(state: State, request: Request) -> dict[str, str]:
    """Count one request against its caller's window; its rate-limit headers.

    Raises the 403 primary-limit ``ApiError`` (carrying the same headers) once the
    window is used up.
    """
    key, name, limit = identity(state, request)
    now = state.clock()
    start, used = state.rate_windows.get(key, (now, 0))
    if now >= start + WINDOW:
        start, used = now, 0
    over = used >= limit
    used = min(used + 1, limit)
    state.rate_windows[key] = (start, used)
    headers = {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(0 if over else limit - used),
        "x-ratelimit-used": str(used),
        "x-ratelimit-reset": str(int(start + WINDOW)),
        "x-ratelimit-resource": "core",
    }
    if over:
        raise ApiError(
            403,
            f"API rate limit exceeded for {name}.",
            headers=headers,
            documentation_url=RATE_DOCS,
        )
    return headers


def secondary_limit(state: State, token: Token | None, method: str, path: str) -> None:
    """Refuse a content-creating write beyond the configured per-minute budget."""
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
            documentation_url=RATE_DOCS,
        )
    state.content_writes.append((token.installation_id, now))
