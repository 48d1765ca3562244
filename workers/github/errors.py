"""Errors of the GitHub boundary, mapped from HTTP status in exactly one place.

    GitHubError                 any failure talking to GitHub
    ├── TransportError          no HTTP answer (connection refused, timeout)     transient
    ├── AuthError               401: bad, expired or missing credentials
    ├── PermissionDenied        403 that is not a rate limit
    ├── NotFound                404 (also what GitHub answers for repositories out of scope)
    ├── Unprocessable           422, with GitHub's ``errors[]``
    │   └── BranchMoved         422 "Update is not a fast forward" on a ref update
    ├── RateLimited             primary (403/429 + x-ratelimit-remaining: 0) or secondary
    │                           (403/429 + retry-after, or the secondary-limit message)  transient
    └── ServerError             5xx                                              transient

The classes marked transient also derive from ``workers.errors.Transient``: a job
that meets one is tried again later; every other class is permanent.

Every error carries the status, GitHub's message and the response headers.
``GitHubError.from_response`` is the only place that looks at a status code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from github import GithubException

from workers.errors import Transient


class GitHubError(Exception):
    """A failed request to GitHub (see the module docstring for the tree)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: tuple[Any, ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        details = "; ".join(e if isinstance(e, str) else str(e.get("message", e)) for e in errors)
        text = message if status is None else f"{status}: {message}"
        super().__init__(f"{text} ({details})" if details else text)
        self.message = message
        self.status = status
        self.errors = errors
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in (headers or {}).items()}

    @classmethod
    def from_response(
        cls, status: int, data: Any, headers: Mapping[str, str] | None
    ) -> GitHubError:
        """The error for one GitHub answer: the single status-to-exception mapping."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        body = data if isinstance(data, Mapping) else {}
        message = str(body.get("message") or data or "")
        raw_errors = body.get("errors")
        errors = tuple(raw_errors) if isinstance(raw_errors, list) else ()
        kwargs: dict[str, Any] = {"status": status, "errors": errors, "headers": lowered}
        if status in (403, 429) and _is_rate_limit(message, lowered):
            return RateLimited(message, **kwargs)
        if status == 401:
            return AuthError(message, **kwargs)
        if status == 403:
            return PermissionDenied(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status == 422:
            if "not a fast forward" in message.lower():
                return BranchMoved(message, **kwargs)
            return Unprocessable(message, **kwargs)
        if status == 429:
            return RateLimited(message, **kwargs)
        if status >= 500:
            return ServerError(message, **kwargs)
        return GitHubError(message, **kwargs)

    @classmethod
    def from_exception(cls, exc: GithubException) -> GitHubError:
        return cls.from_response(exc.status, exc.data, exc.headers)


def _is_rate_limit(message: str, headers: Mapping[str, str]) -> bool:
    return (
        headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or "rate limit" in message.lower()
    )


class TransportError(GitHubError, Transient):
    """No HTTP answer came back; a write may or may not have landed."""


class AuthError(GitHubError):
    """401: the JWT or installation token was refused."""


class PermissionDenied(GitHubError):
    """403 that is not a rate limit: the token lacks a permission."""


class NotFound(GitHubError):
    """404: missing, or outside the token's repositories."""


class Unprocessable(GitHubError):
    """422: GitHub refused the request's content; ``errors`` says why."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every human-readable reason: plain strings and the ``message`` of error objects."""
        out = [self.message] if self.message else []
        for item in self.errors:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, Mapping) and item.get("message"):
                out.append(str(item["message"]))
        return tuple(out)


class BranchMoved(Unprocessable):
    """A ``force: false`` ref update that is not a fast forward: the branch moved meanwhile."""


class RateLimited(GitHubError, Transient):
    """Primary or secondary rate limit; ``wait_seconds`` says how long GitHub asks to wait."""

    @property
    def secondary(self) -> bool:
        return self.headers.get("x-ratelimit-remaining") != "0"

    def wait_seconds(self, now: float | None = None) -> float:
        """``retry-after``, else ``x-ratelimit-reset``, else a minute (GitHub's guidance)."""
        if "retry-after" in self.headers:
            return max(0.0, float(self.headers["retry-after"]))
        if "x-ratelimit-reset" in self.headers:
            current = time.time() if now is None else now
            return max(0.0, float(self.headers["x-ratelimit-reset"]) - current)
        return 60.0


class ServerError(GitHubError, Transient):
    """5xx: GitHub failed; a write may or may not have landed."""


__all__ = [
    "AuthError",
    "BranchMoved",
    "GitHubError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unprocessable",
]
