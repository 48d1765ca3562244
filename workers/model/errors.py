"""Errors of the model boundary.

::

    ModelError                      anything the model endpoint did not do for us
    ├── ModelTimeout                no answer in time (retryable)
    ├── ModelTransportError         connection refused, reset... (retryable)
    ├── ModelHTTPError              a non-2xx answer; carries status, code, param, request id
    │   ├── RateLimited             429 rate_limit_exceeded (retryable; another key first)
    │   ├── KeyRefused              a key the endpoint will not serve: the key is parked
    │   │   ├── QuotaExhausted      429 insufficient_quota
    │   │   └── KeyRejected         401 (revoked, mistyped) or 403 (no access to the project)
    │   ├── ModelNotFound           404 model_not_found: the model is gone or not allowed
    │   ├── ContextTooLong          400 context_length_exceeded: the caller splits the input
    │   ├── UnsupportedParameter    400 naming a parameter the model refuses (param, any code)
    │   ├── BadRequest              other 4xx (not retried)
    │   └── ServerError             408, 409, 5xx (retryable)
    ├── StreamStalled               the stream sent nothing for the idle timeout (retryable)
    ├── StreamBroken                the stream ended before its last event (retryable)
    ├── ModelOutputError            a 2xx whose content breaks the contract (bad JSON, schema)
    ├── CapacityTimeout             the shared limiter gave no slot within the wait budget
    └── NoUsableKey                 every configured key is parked (permanent until one returns)

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


class StreamStalled(ModelTimeout):
    """The stream was open but sent no event for the idle timeout."""


class StreamBroken(ModelTransportError):
    """The stream ended (connection cut, ``error`` event) before a final response event."""


class NoUsableKey(ModelError):
    """Every configured API key is parked; the message says why, per key, in plain words."""


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
        elif status in {401, 403}:
            kind = KeyRejected
        elif status == 404 and code == "model_not_found":
            kind = ModelNotFound
        elif status == 400 and code == "context_length_exceeded":
            kind = ContextTooLong
        elif status == 400 and (
            code in {"unsupported_parameter", "unsupported_value"} or param == "temperature"
        ):
            # Refusals of a parameter have come with ``code: null``: the param decides.
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


class KeyRefused(ModelHTTPError):
    """The endpoint will not serve this key; the pool parks it and the call moves on."""


class QuotaExhausted(KeyRefused):
    pass


class KeyRejected(KeyRefused):
    pass


class ModelNotFound(ModelHTTPError):
    pass


class ContextTooLong(ModelHTTPError):
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
