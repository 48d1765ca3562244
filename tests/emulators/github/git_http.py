"""Git's smart HTTP protocol for the emulator's repositories: ``git http-backend`` behind
GitHub's token check.

Served at ``/{owner}/{repo}.git/...`` on the host (outside the API prefix, as on
Enterprise Server), which is where the API's ``clone_url`` points. Only fetches:
``git-receive-pack`` is refused. Credentials are GitHub's for installation
tokens, HTTP Basic with the user ``x-access-token`` and the token as the
password; a missing, unknown or expired token, or one not for this repository,
gets 401 with ``WWW-Authenticate``, as GitHub answers a private repository.
Partial clones and fetches by SHA are allowed (``uploadpack.allowFilter``,
``uploadpack.allowAnySHA1InWant``), as on github.com.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import subprocess
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .state import RecordedRequest, State

PATH: Final = re.compile(
    r"^/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)\.git"
    r"(?P<rest>/info/refs|/git-upload-pack|/git-receive-pack)$"
)
_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="GitHub"'}


def _token_ok(state: State, request: Request, full_name: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    token = state.tokens.get(secret)
    if user != "x-access-token" or token is None or token.expires_at <= state.clock():
        return False
    installation = state.installations.get(token.installation_id)
    in_scope = token.repositories is None or full_name in token.repositories
    return installation is not None and full_name in installation.repositories and in_scope


async def serve(state: State, request: Request, path: str) -> Response:
    """Answer one smart-HTTP request for ``path`` (already matched by ``PATH``)."""
    match = PATH.match(path)
    assert match is not None
    full_name = f"{match['owner']}/{match['name']}"
    body = await request.body()
    with state.lock:
        repo = state.repos.get(full_name)
        allowed = repo is not None and _token_ok(state, request, full_name)
    service = request.query_params.get("service", "")
    if not allowed:
        status, response = 401, Response("Authentication failed", 401, headers=_CHALLENGE)
    elif match["rest"] == "/git-receive-pack" or service == "git-receive-pack":
        status, response = 403, Response("Write access is not served here", 403)
    else:
        assert repo is not None
        status, response = await asyncio.to_thread(
            _backend, state, request, f"/{full_name}{match['rest']}", body
        )
    with state.lock:
        state.requests.append(
            RecordedRequest(request.method, path, request.url.query, status, None)
        )
    return response


def _backend(state: State, request: Request, path_info: str, body: bytes) -> tuple[int, Response]:
    env = {
        "GIT_PROJECT_ROOT": str(state.root / "repos"),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "x-access-token",
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": "/nonexistent",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "uploadpack.allowFilter",
        "GIT_CONFIG_VALUE_0": "true",
        "GIT_CONFIG_KEY_1": "uploadpack.allowAnySHA1InWant",
        "GIT_CONFIG_VALUE_1": "true",
    }
    result = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
    )
    head, _, payload = result.stdout.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    headers.pop("Content-Length", None)
    return status, Response(payload, status, headers=headers)
