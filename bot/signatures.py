"""``X-Hub-Signature-256`` verification over the raw body, before anything is parsed.

Several secrets may be configured at once so a secret can be rotated without
downtime: the delivery is genuine when any of them matches. Only ``sha256=``
is accepted; a delivery signed with sha1 alone is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from bot.errors import SignatureError

_PREFIX = "sha256="


def sign(secret: bytes, body: bytes | bytearray) -> str:
    """The header value GitHub sends for ``body`` under ``secret``."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes | bytearray, header: str | None, secrets: Sequence[bytes]) -> str:
    """Raise ``SignatureError`` unless ``header`` signs ``body`` under one of ``secrets``.

    Every secret is compared in constant time, and all are tried, so the time
    taken does not reveal which one matched. Returns the verified digest (hex):
    the body's identity for replay detection, at no extra hashing.
    """
    if not secrets:
        raise SignatureError("no webhook secret configured")
    if not header:
        raise SignatureError("missing X-Hub-Signature-256")
    if not header.startswith(_PREFIX):
        raise SignatureError("X-Hub-Signature-256 must be sha256=<hex>")
    given = header.strip().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        expected = sign(secret, body).encode()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise SignatureError("signature does not match")
    return given[len(_PREFIX) :].decode("ascii")
