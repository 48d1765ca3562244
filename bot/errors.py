"""Errors of the webhook boundary, each mapped to one HTTP status in ``STATUS``.

::

    WebhookError
    ├── SignatureError          401  missing, forged or sha1-only signature
    ├── PayloadTooLarge         413  body over the configured cap
    ├── BadDelivery             400  missing headers, undecodable body, bad payload shape
    ├── BrokerUnavailable       503  the queue (or the ledger beside it) is unreachable
    └── ReceiverBusy            503  too many bodies being read at once; nothing was read

Everything else reaching the handler is a bug and answers 500 through the
framework's own handler.
"""

from __future__ import annotations

from typing import Final


class WebhookError(Exception):
    """Base of the receiver's errors; ``detail`` is safe to show to the sender."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SignatureError(WebhookError):
    pass


class PayloadTooLarge(WebhookError):
    pass


class BadDelivery(WebhookError):
    pass


class BrokerUnavailable(WebhookError):
    pass


class ReceiverBusy(WebhookError):
    pass


STATUS: Final[dict[type[WebhookError], int]] = {
    SignatureError: 401,
    PayloadTooLarge: 413,
    BadDelivery: 400,
    BrokerUnavailable: 503,
    ReceiverBusy: 503,
}


def status_of(error: WebhookError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500
