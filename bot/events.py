"""A verified, decoded webhook delivery: ``WebhookEvent.from_http(headers, body, secrets)``.

Pure: no I/O. The signature is checked over the raw bytes first; only then is
the body decoded, as ``application/json`` or as a form with the JSON in its
``payload=`` field (the two content types a GitHub webhook can be set to).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeAlias
from urllib.parse import parse_qs

import orjson

from bot.errors import BadDelivery
from bot.signatures import verify

_MAX_ID = 200
# A raw body: ``bytes``, or the ``bytearray`` a large body was read into (never copied).
Body: TypeAlias = bytes | bytearray


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def decode_body(body: Body, content_type: str | None) -> dict[str, Any]:
    """The JSON object in ``body``; form bodies carry it in ``payload``."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    raw: Body | str = body
    if media == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise BadDelivery("form body is not UTF-8") from exc
        values = fields.get("payload")
        if not values:
            raise BadDelivery("form body has no payload field")
        raw = values[0]
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadDelivery(f"body is not valid JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise BadDelivery("body must be a JSON object")
    return decoded


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One genuine delivery. ``payload`` is untrusted in shape: routing validates what it uses."""

    name: str
    delivery_id: str
    payload: dict[str, Any]
    # The verified HMAC-SHA256 of the raw body (hex): the same body replayed under a new
    # delivery id has the same digest, so the ledger recognises it.
    body_digest: str = ""

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @classmethod
    def from_http(cls, headers: Mapping[str, str], body: Body, secrets: Sequence[bytes]) -> Self:
        """Verify, then decode. Raises ``SignatureError`` or ``BadDelivery``."""
        digest = verify(body, header(headers, "X-Hub-Signature-256"), secrets)
        name = header(headers, "X-GitHub-Event")
        delivery_id = header(headers, "X-GitHub-Delivery")
        if not name:
            raise BadDelivery("missing X-GitHub-Event header")
        if not delivery_id:
            raise BadDelivery("missing X-GitHub-Delivery header")
        if len(delivery_id) > _MAX_ID or not delivery_id.isprintable():
            raise BadDelivery("X-GitHub-Delivery is not a delivery id")
        payload = decode_body(body, header(headers, "Content-Type"))
        return cls(
            name=name.strip(),
            delivery_id=delivery_id.strip(),
            payload=payload,
            body_digest=digest,
        )
