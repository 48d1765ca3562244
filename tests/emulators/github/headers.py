"""The request headers GitHub asks every REST client for ("Getting started with the REST
API": user agent, media type, API version).

GitHub answers 403 to a request without a ``User-Agent`` and 400 to one naming an
API version it does not support. It serves a request without
``X-GitHub-Api-Version`` at the default version and one without its media type as
JSON all the same; with ``State.strict_headers`` (the default) this emulator
refuses those with 400, so a client that leaves them out fails its tests.
"""

from __future__ import annotations

from starlette.requests import Request

from .api import ApiError
from .state import State

SUPPORTED_VERSIONS = frozenset({"2022-11-28"})
MEDIA_TYPE = "application/vnd.github+json"
VERSIONS_DOCS = "https://docs.github.com/rest/about-the-rest-api/api-versions"
RECORDED = ("user-agent", "accept", "x-github-api-version")
# What a test's own raw request sends to pass strict mode.
API_HEADERS = {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": "2022-11-28"}


def recorded(request: Request) -> dict[str, str]:
    """The headers a ``RecordedRequest`` keeps."""
    return {name: request.headers[name] for name in RECORDED if name in request.headers}


def check(state: State, request: Request) -> None:
    """Raise GitHub's answer to a request whose headers it (or strict mode) refuses."""
    if not request.headers.get("user-agent", "").strip():
        raise ApiError(
            403,
            "Request forbidden by administrative rules. "
            "Please make sure your request has a User-Agent header.",
        )
    version = request.headers.get("x-github-api-version")
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise ApiError(
            400,
            f"The '{version}' API version is not supported.",
            documentation_url=VERSIONS_DOCS,
        )
    if not state.strict_headers:
        return
    if version is None:
        raise ApiError(
            400,
            "Missing X-GitHub-Api-Version header (strict emulator).",
            documentation_url=VERSIONS_DOCS,
        )
    accept = request.headers.get("accept", "")
    if MEDIA_TYPE not in accept:
        raise ApiError(400, f"Accept must name {MEDIA_TYPE} (strict emulator), not {accept!r}.")
