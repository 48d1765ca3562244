"""Authentication: the App JWT, least-privilege installation tokens, personal tokens, retries.

``GitHubApp`` signs its JWT with PyGithub's ``Auth.AppAuth`` (RS256 via ``cryptography``)
and mints one installation token per (installation, repository, permissions), cached in
the process and refreshed ``refresh_margin`` seconds before it expires. Every URL is
derived from ``base_url``, so ``https://HOST/api/v3`` (Enterprise Server) works as is.
``GitHubToken`` gives the same clients on a personal token (``codex-bot review`` with
``GITHUB_TOKEN``); their identity is the token's user (``GET /user``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

import github
from github import Auth
from github.GithubRetry import GithubRetry

from workers import metrics

from .client import GitHubClient, call
from .deliveries import HookDelivery, iter_deliveries, redeliver
from .models import AppIdentity
from .pacing import LocalPacer, Pacer

# Enough for reading a PR and posting a review; /codex fix asks for contents: write itself.
REVIEW_PERMISSIONS: Mapping[str, str] = {
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "contents": "read",
    "metadata": "read",
}
# App-level writes (redelivery requests) share a pacing slot of their own.
APP_PACING_KEY = 0
_UNSAFE = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# PyGithub's (and requests') default: a pool smaller than the threads sharing a client
# throws connections away ("Connection pool is full"), one TLS handshake each.
DEFAULT_POOL_SIZE = 10


def user_agent(who: str) -> str:
    """The User-Agent of every request: this program, its version and who it acts for
    (GitHub asks for the App's name or the user's login)."""
    try:
        version = metadata.version("codex-review-bot")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"codex-review-bot/{version} ({who})"


class SafeRetry(GithubRetry):
    """PyGithub's retry, minus blind retries of writes.

    Rate-limit answers (403/429 with GitHub's headers) are retried for every method:
    GitHub refused those requests, so nothing landed. A 5xx or a lost connection on a
    write is not retried here: the write may have landed, and the caller must look
    before trying again.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() in _UNSAFE:
            return status_code in (403, 429) and self.total != 0
        return bool(super().is_retry(method, status_code, has_retry_after))

    def _is_method_retryable(self, method: str) -> bool:
        # Consulted by urllib3 for read errors: a write whose answer was lost may have landed.
        return method.upper() not in _UNSAFE

    def sleep(self, response: Any = None) -> None:
        # Every wait before a retry (rate limits and backoff) is counted for the operator.
        started = time.monotonic()
        super().sleep(response)
        metrics.waited("github", time.monotonic() - started)


def retry_policy(
    total: int = 5,
    backoff_factor: float = 0.5,
    max_rate_limit_wait: float = 120.0,
    secondary_rate_wait: float = 60.0,
) -> SafeRetry:
    """The retry policy to pass to ``GitHubApp`` (PyGithub's default is no retries at all)."""
    return SafeRetry(
        total=total,
        backoff_factor=backoff_factor,
        max_rate_limit_wait=max_rate_limit_wait,
        secondary_rate_wait=secondary_rate_wait,
        status_forcelist=[429, *range(500, 600)],
        raise_on_status=False,
        respect_retry_after_header=True,
    )


def rest_client(
    auth: Auth.Auth,
    base_url: str,
    retry: GithubRetry,
    timeout: float,
    *,
    agent: str,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> github.Github:
    """PyGithub's client as this project uses it: 100 a page, no PyGithub pacing (writes
    are paced by the ``Pacer``), ``retry`` for answers that can safely be asked again,
    ``agent`` as the User-Agent, a connection pool of ``pool_size`` (the threads that
    share the client)."""
    return github.Github(
        auth=auth,
        base_url=base_url,
        retry=retry,
        per_page=100,
        timeout=int(timeout) if timeout >= 1 else 1,
        seconds_between_requests=None,
        seconds_between_writes=None,
        user_agent=agent,
        pool_size=pool_size,
    )


@dataclass(frozen=True, slots=True)
class InstallationToken:
    token: str
    expires_at: float  # unix time

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstallationToken:
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        return cls(token=str(data["token"]), expires_at=expires.timestamp())


class _CachedTokenAuth(Auth.Auth):
    """Installation auth that asks the App's cache for a fresh token on every request."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self._fetch = fetch

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._fetch()


class GitHubApp:
    """The App's side of GitHub: its JWT, its identity and its installation clients."""

    def __init__(
        self,
        app_id: int,
        private_key_pem: str,
        base_url: str,
        *,
        retry: GithubRetry | None = None,
        pacer: Pacer | None = None,
        refresh_margin: float = 300.0,
        timeout: float = 30.0,
        review_settle_seconds: float = 5.0,
        pool_size: int = DEFAULT_POOL_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.user_agent = user_agent(f"app {app_id}")
        self.pool_size = pool_size
        self.base_url = base_url.rstrip("/")
        self.retry = retry if retry is not None else retry_policy()
        self.pacer: Pacer = pacer if pacer is not None else LocalPacer()
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.review_settle_seconds = review_settle_seconds
        self._clock = clock
        self._integration = github.GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key_pem),
            base_url=self.base_url,
            retry=self.retry,
            timeout=int(timeout),
            user_agent=self.user_agent,
            pool_size=pool_size,
        )
        self._tokens: dict[tuple[int, str, tuple[tuple[str, str], ...]], InstallationToken] = {}
        self._lock = threading.Lock()
        self._identity: AppIdentity | None = None

    def app_identity(self) -> AppIdentity:
        """The App's id and slug (``GET /app``), fetched once per process."""
        if self._identity is None:
            _, data = call(self._integration.requester, "GET", "/app")
            self._identity = AppIdentity.from_dict(data)
        return self._identity

    def hook_deliveries(self, since: float) -> Iterator[HookDelivery]:
        """The App's webhook delivery attempts since ``since`` (unix time), newest first."""
        return iter_deliveries(self._integration.requester, since=since)

    def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to send one delivery again; paced like every other App write."""
        with self.pacer.slot(APP_PACING_KEY):
            redeliver(self._integration.requester, delivery_id)

    def repo_installation(self, repository: str) -> int:
        """The id of the App's installation on ``repository`` ("owner/name")."""
        _, data = call(self._integration.requester, "GET", f"/repos/{repository}/installation")
        return int(data["id"])

    def installation_token(
        self,
        installation_id: int,
        repository: str,
        permissions: Mapping[str, str] = REVIEW_PERMISSIONS,
        *,
        refresh: bool = False,
    ) -> str:
        """A token for one repository of the installation, from the cache while fresh;
        ``refresh`` mints a new one (the last one was refused: revoked or expired early)."""
        key = (installation_id, repository, tuple(sorted(permissions.items())))
        with self._lock:
            cached = None if refresh else self._tokens.get(key)
            if cached is not None and cached.expires_at - self.refresh_margin > self._clock():
                return cached.token
            _, data = call(
                self._integration.requester,
                "POST",
                f"/app/installations/{installation_id}/access_tokens",
                body={
                    "repositories": [repository.split("/", 1)[1]],
                    "permissions": dict(permissions),
                },
            )
            fresh = InstallationToken.from_dict(data)
            self._tokens[key] = fresh
            return fresh.token

    def installation_client(
        self,
        installation_id: int,
        repository: str,
        permissions: Mapping[str, str] = REVIEW_PERMISSIONS,
    ) -> GitHubClient:
        """A client acting as the installation on ``repository`` ("owner/name") only."""
        auth = _CachedTokenAuth(
            lambda: self.installation_token(installation_id, repository, permissions)
        )
        gh = rest_client(
            auth,
            self.base_url,
            self.retry,
            self.timeout,
            agent=self.user_agent,
            pool_size=self.pool_size,
        )
        return GitHubClient(
            gh.requester,
            repository=repository,
            installation_id=installation_id,
            pacer=self.pacer,
            identity=self.app_identity,
            settle_seconds=self.review_settle_seconds,
        )


class GitHubToken:
    """A personal token's side of GitHub: clients that act as the token's user.

    ``installation_client`` has ``GitHubApp``'s signature so either can feed the
    review pipeline; the installation id is not used for authentication.
    """

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        retry: GithubRetry | None = None,
        pacer: Pacer | None = None,
        timeout: float = 30.0,
        review_settle_seconds: float = 5.0,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer: Pacer = pacer if pacer is not None else LocalPacer()
        self.review_settle_seconds = review_settle_seconds
        self._github = rest_client(
            Auth.Token(token),
            self.base_url,
            retry if retry is not None else retry_policy(),
            timeout,
            agent=user_agent("personal token"),
            pool_size=pool_size,
        )
        self._identity: AppIdentity | None = None

    def identity(self) -> AppIdentity:
        """The token's user (``GET /user``), fetched once."""
        if self._identity is None:
            _, data = call(self._github.requester, "GET", "/user")
            self._identity = AppIdentity.from_user(data)
        return self._identity

    def installation_client(
        self,
        installation_id: int,
        repository: str,
        permissions: Mapping[str, str] = REVIEW_PERMISSIONS,
    ) -> GitHubClient:
        """A client acting as the token's user on ``repository``; the token's own
        permissions apply, ``permissions`` is not narrowed."""
        return GitHubClient(
            self._github.requester,
            repository=repository,
            installation_id=installation_id,
            pacer=self.pacer,
            identity=self.identity,
            settle_seconds=self.review_settle_seconds,
        )
