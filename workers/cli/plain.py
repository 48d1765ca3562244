"""Plain one-line sentences for failures the command-line tools meet at the network's edge.

``doctor``, ``review`` and ``review-diff`` print these instead of a traceback:
``github_failure`` for a ``GitHubError``, ``transport_reason`` for a request that
got no answer (GitHub's, the model's or Redis's).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import redis
import requests

from workers.github.errors import (
    AuthError,
    GitHubError,
    NotFound,
    PermissionDenied,
    TransportError,
)


def transport_reason(exc: BaseException) -> str:
    """A plain phrase for a request that got no answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.Timeout | httpx.TimeoutException | redis.TimeoutError):
            return "no answer within the timeout"
        if isinstance(seen, requests.ConnectionError | httpx.ConnectError | redis.ConnectionError):
            text = str(seen)
            if "Name or service not known" in text or "nodename nor servname" in text:
                return "the host name does not resolve"
            if "refused" in text.lower():
                return "the connection was refused"
            if "SSL" in text or "certificate" in text:
                return "the TLS handshake failed"
            return "the connection failed"
        seen = seen.__cause__ or seen.__context__
    return "no answer"


def github_failure(url: str, exc: GitHubError, app_id: int | None = None) -> str:
    """One plain sentence for a failed request to GitHub at ``url``."""
    if isinstance(exc, TransportError):
        return f"cannot reach GitHub at {url}: {transport_reason(exc)}."
    if isinstance(exc, AuthError):
        if app_id is None:
            return (
                f"GitHub at {url} refused the credentials: the token is wrong, expired or revoked."
            )
        return (
            f"GitHub at {url} refused the credentials: APP_ID {app_id} and the private key do "
            "not belong together, the key was revoked, or this machine's clock is off."
        )
    if isinstance(exc, NotFound):
        return (
            f"GitHub at {url} answered 404: it does not exist or the credentials cannot see it "
            "(on GitHub Enterprise Server GITHUB_API_URL is https://HOST/api/v3)."
        )
    if isinstance(exc, PermissionDenied):
        return f"GitHub at {url} refused the request: {exc.message or 'permission denied'}."
    return f"GitHub at {url} answered {exc.status or 'an error'}: {exc.message or exc}."


def redis_address(url: str) -> str:
    """A Redis URL as it may be shown: without user name or password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def redis_failure(url: str, exc: BaseException) -> str:
    """One plain sentence for a Redis that did not answer (the URL without its password)."""
    return f"cannot reach Redis at {redis_address(url)}: {transport_reason(exc)}."


def model_failure(url: str, exc: BaseException) -> str:
    """One plain sentence for a model API that did not answer or refused the key."""
    status = getattr(exc, "status", None)
    if status == 401:
        return f"the model API at {url} refused the API key (401)."
    if status is not None:
        return f"the model API at {url} answered {status}: {exc}."
    return f"cannot reach the model API at {url}: {transport_reason(exc)}."
