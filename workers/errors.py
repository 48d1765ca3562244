"""Transient versus permanent, decided once for every boundary of the worker.

Each boundary keeps its own exception tree (``workers.github.errors``,
``workers.model.errors``); the classes of those trees that another attempt,
later, can get past also derive from ``Transient``. Tasks retry exactly what
``is_transient`` says, with backoff, until the job's deadline; everything else
is permanent and reported where the user looks.

    Transient (mixin)
    ├── github: TransportError, ServerError, RateLimited
    └── model:  ModelTimeout, ModelTransportError, RateLimited, ServerError, CapacityTimeout

Redis losing its connection (``redis.ConnectionError``, ``redis.TimeoutError``)
is transient too: Redis is the broker, and a job that cannot reach it now can
when it comes back.
"""

from __future__ import annotations

import redis


class Transient(Exception):
    """Mixin for failures that may pass on another attempt (outage, timeout, rate limit)."""


def is_transient(exc: BaseException) -> bool:
    """True when retrying the job later may succeed."""
    return isinstance(exc, Transient | redis.ConnectionError | redis.TimeoutError)


__all__ = ["Transient", "is_transient"]
