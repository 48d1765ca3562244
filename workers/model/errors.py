"""Errors of the model boundary.

::

    ModelError                      anything the model endpoint did not do for us
    ├── ModelTimeout                no answer in time (retryable)
    ├── ModelTransportError         connection refused, reset... (retryable)
    ├── ModelHTTPError              a non-2xx answer; carries status, code, request id
    │   ├── RateLimited             429 rate_limit_exceeded (retryable)
    │   ├── QuotaExhausted          429 insufficient_quota (never retried; the key is parked)
    │   ├── UnsupportedParameter    400 unsupported_parameter / unsupported_value
    │   ├── BadRequest              other 4xx (not retried)
    │   └── ServerError             408, 409, 5xx (retryable)
    ├── ModelOutputError            a 2xx whose content breaks the contract (bad JSON, schema)
    └── CapacityTimeout             the shared limiter gave no slot within the wait budget

``ModelHTTPError.from_response`` is the one place where status codes map to classes.
The retryable classes derive from ``workers.errors.Transient`` too: a call retries
them within its own budget, and a job that still meets one is tried again later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from workers.errors import Transient


class ModelError(Exception):
    """Base of every model-side failure; ``retryable`` says whether another attempt may help."""

    @property
    def retryable(self) -> bool:
        """The one decision: the transient classes derive from ``workers.errors.Transient``."""
        return isinstance(self, Transient)


class ModelTimeout(ModelError, Transient):
    pass


class ModelTransportError(ModelError, Transient):
    pass


class CapacityTimeout(ModelError, Transient):
    """No key had a free slot or token budget before the wait budget ran out."""


class ModelOutputError(ModelError):
    """The answer was delivered but its content cannot be used."""


class ModelHTTPError(ModelError):
    """A non-2xx answer from the Responses endpoint."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None,
        param: str | None,
        request_id: str | None,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.request_id = request_id
        self.headers = dict(headers)

    @classmethod
    def from_response(cls, response: httpx.Response) -> ModelHTTPError:
        """Map a non-2xx response to its class (the only status-to-class mapping)."""
        message, code, param = _error_fields(response)
        status = response.status_code
        kind: type[ModelHTTPError]
        if status == 429:
            kind = QuotaExhausted if code == "insufficient_quota" else RateLimited
        elif status == 400 and code in {"unsupported_parameter", "unsupported_value"}:
            kind = UnsupportedParameter
        elif status in {408, 409} or status >= 500:
            kind = ServerError
        else:
            kind = BadRequest
        return kind.build(
            message,
            status=status,
            code=code,
            param=param,
            request_id=response.headers.get("x-request-id"),
            headers=response.headers,
        )

    @classmethod
    def build(
        cls,
        message: str,
        *,
        status: int,
        code: str | None,
        param: str | None,
        request_id: str | None,
        headers: Mapping[str, str],
    ) -> Self:
        return cls(
            message, status=status, code=code, param=param, request_id=request_id, headers=headers
        )

    def __str__(self) -> str:
        return f"{self.status} {self.code or 'error'}: {self.message} (request {self.request_id})"


class RateLimited(ModelHTTPError, Transient):
    pass


class QuotaExhausted(ModelHTTPError):
    pass


class UnsupportedParameter(ModelHTTPError):
    pass


class BadRequest(ModelHTTPError):
    pass


class ServerError(ModelHTTPError, Transient):
    pass


def _error_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """``(message, code, param)`` from the standard error envelope, tolerating any body."""
    try:
        body: Any = response.json()
    except ValueError:
        return (response.text[:200] or response.reason_phrase, None, None)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return (response.text[:200] or response.reason_phrase, None, None)
    message = error.get("message")
    code = error.get("code")
    param = error.get("param")
    return (
        message if isinstance(message, str) else response.reason_phrase,
        code if isinstance(code, str) else None,
        param if isinstance(param, str) else None,
    )
