"""What a failed job tells its user, and when it is tried again: pure decisions.

``describe(exc)`` turns any exception a job can meet into a ``Failure``: whether
it is transient (``workers.errors.is_transient``) and one plain sentence that
names the cause for the people who read the check run or the thread, never an
exception class name. ``retry_delay`` is the backoff between attempts of a job
(exponential, full jitter), clamped so that it never outlives the job's
deadline nor the broker's visibility timeout (a countdown longer than that
makes Redis hand the message out again and again).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import redis
from celery.exceptions import SoftTimeLimitExceeded

from workers.errors import is_transient
from workers.github import errors as gh
from workers.model import errors as model
from workers.review.outcome import SegmentsPending

FailureKind = Literal[
    "github_unavailable",
    "github_rate_limited",
    "github_auth",
    "github_permission",
    "github_not_found",
    "github_refused",
    "model_unavailable",
    "model_rate_limited",
    "model_quota",
    "model_keys",
    "model_refused",
    "queue_unavailable",
    "worker_crashed",
    "timed_out",
    "internal",
]

_TEXT: dict[FailureKind, str] = {
    "github_unavailable": "GitHub did not answer (a network problem or an outage at GitHub).",
    "github_rate_limited": "GitHub's rate limit for this installation was reached.",
    "github_auth": "GitHub refused the App's credentials (check the App id and private key).",
    "github_permission": "The App lacks a permission it needs on this repository.",
    "github_not_found": "The pull request or the repository is no longer reachable by the App.",
    "github_refused": "GitHub refused a request of the bot.",
    "model_unavailable": "The OpenAI API did not answer in time or failed on its side.",
    "model_rate_limited": "The OpenAI API's rate limit was reached for every configured key.",
    "model_quota": "The OpenAI API key has no quota left.",
    "model_keys": (
        "The OpenAI API refused every configured key (revoked, without access or out of "
        "quota); the bot's operator must replace or top up the keys."
    ),
    "model_refused": "The OpenAI API refused the request.",
    "queue_unavailable": "The bot's queue (Redis) was unreachable.",
    "worker_crashed": "The bot's worker process stopped in the middle of this job, repeatedly.",
    "timed_out": "The job ran longer than the worker's time limit, on every attempt.",
    "internal": "The bot met an unexpected error; the operator's worker log has the details.",
}


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    transient: bool

    @property
    def text(self) -> str:
        """One plain sentence for the user."""
        return _TEXT[self.kind]


def _kind(exc: BaseException) -> FailureKind:
    # Order matters: the most specific classes first.
    table: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], FailureKind], ...] = (
        (gh.RateLimited, "github_rate_limited"),
        ((gh.TransportError, gh.ServerError), "github_unavailable"),
        (gh.AuthError, "github_auth"),
        (gh.PermissionDenied, "github_permission"),
        (gh.NotFound, "github_not_found"),
        (gh.GitHubError, "github_refused"),
        (model.NoUsableKey, "model_keys"),
        (model.QuotaExhausted, "model_quota"),
        ((model.RateLimited, model.CapacityTimeout), "model_rate_limited"),
        ((model.ModelTimeout, model.ModelTransportError, model.ServerError), "model_unavailable"),
        (model.ModelError, "model_refused"),
        ((redis.ConnectionError, redis.TimeoutError), "queue_unavailable"),
        (SegmentsPending, "model_unavailable"),
        (SoftTimeLimitExceeded, "timed_out"),
    )
    for classes, kind in table:
        if isinstance(exc, classes):
            return kind
    return "internal"


def describe(exc: BaseException) -> Failure:
    """The user-facing kind of ``exc`` and whether another attempt may help."""
    kind = _kind(exc)
    # Out of time is usually a slow GitHub or model: worth another attempt, and the
    # deadline bounds a job that is simply too big.
    return Failure(kind=kind, transient=kind == "timed_out" or is_transient(exc))


CRASHED = Failure(kind="worker_crashed", transient=False)
"""A job whose worker process kept dying (``workers.guard``: too many starts)."""


def retry_delay(
    retries: int,
    *,
    remaining: float,
    base: float = 5.0,
    cap: float = 300.0,
    visibility_timeout: float = 900.0,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before attempt ``retries + 1``, or ``None`` when the deadline leaves
    no room for another attempt.

    Full jitter over ``base * 2**retries`` (at most ``cap``), never less than one second,
    and at most ``remaining`` and half the visibility timeout.
    """
    if remaining <= 1.0:
        return None
    ceiling = min(cap, base * 2.0 ** min(retries, 30))
    delay = max(1.0, (rng or random).uniform(ceiling / 2, ceiling))
    return min(delay, remaining, visibility_timeout / 2)
