"""Hidden markers that make the bot's reviews readable by the bot.

The review body ends with ``<!-- codex-review:v1 {"head": ..., "base": ...,
"fps": [...]} -->``: the head SHA reviewed, the base the diff was taken
against, and the fingerprints of every finding posted (inline or in the
body). Each inline comment ends with ``<!-- codex-review:v1:comment {"fp":
..., "f": {...}} -->``: its fingerprint and the finding it reports (path, the
anchored lines, quote, priority, title, body; no suggestion), which
``/codex fix`` reads back. Reading them tells the next run what was already
said and which head was last reviewed.

Marker JSON escapes ``<`` and ``>``, so no text inside it can close the HTML
comment early.

Markers are data from GitHub, so parsing trusts nothing: only bodies written
by the bot's own login count (anyone can type a marker in their own comment),
malformed or oversized markers are skipped, never raised on, and only values
of the expected shape (hex SHAs, hex fingerprints) are kept. Model text cannot
forge a marker because the sanitiser strips HTML comments from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Self

from workers.findings import PRIORITIES, Finding
from workers.review.fingerprint import FINGERPRINT_PATTERN
from workers.sanitize import truncate

MAX_MARKER_FINGERPRINTS: Final = 1_000
_SHA: Final = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_REVIEW: Final = re.compile(r"<!-- codex-review:v1 (\{[^<>]{0,64000}?\}) -->")
_COMMENT: Final = re.compile(r"<!-- codex-review:v1:comment (\{[^<>]{0,32000}?\}) -->")
# UTF-8 bytes per text; JSON escaping can grow them up to six times, still well
# inside a comment body.
MAX_MARKER_TEXT: Final = {"quote": 1_500, "title": 400, "body": 1_500}

Authored = tuple[str | None, str | None]
"""``(author login, body)`` of a review or comment, as GitHub lists it; either may be null."""


def _dumps(payload: object) -> str:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_sha(value: object) -> bool:
    return isinstance(value, str) and _SHA.match(value) is not None


def _is_fingerprint(value: object) -> bool:
    return isinstance(value, str) and FINGERPRINT_PATTERN.match(value) is not None


@dataclass(frozen=True, slots=True)
class ReviewMarker:
    """What one review by the bot covered."""

    head_sha: str
    base_sha: str | None
    fingerprints: tuple[str, ...]

    def render(self) -> str:
        payload = {
            "head": self.head_sha,
            "base": self.base_sha,
            "fps": list(dict.fromkeys(self.fingerprints))[:MAX_MARKER_FINGERPRINTS],
        }
        return f"<!-- codex-review:v1 {_dumps(payload)} -->"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self | None:
        """``None`` unless ``data`` has a valid head; bad fingerprints are dropped."""
        head, base, fps = data.get("head"), data.get("base"), data.get("fps")
        if not _is_sha(head) or not (base is None or _is_sha(base)) or not isinstance(fps, list):
            return None
        kept = tuple(
            dict.fromkeys(fp for fp in fps[:MAX_MARKER_FINGERPRINTS] if _is_fingerprint(fp))
        )
        return cls(
            head_sha=str(head), base_sha=None if base is None else str(base), fingerprints=kept
        )

    @classmethod
    def parse(cls, body: str) -> Self | None:
        """The last well-formed review marker in ``body``, or ``None``."""
        found: Self | None = None
        for match in _REVIEW.finditer(body):
            data = _json_object(match.group(1))
            marker = cls.from_dict(data) if data is not None else None
            found = marker or found
        return found


def comment_marker(fingerprint: str, finding: Finding | None = None) -> str:
    """The marker that ends an inline comment about the finding ``fingerprint``.

    ``finding`` should already be safe to post (sanitised title and body) and carry
    the anchored path and lines; long texts are cut (``MAX_MARKER_TEXT``).
    """
    payload: dict[str, Any] = {"fp": fingerprint}
    if finding is not None:
        data = finding.to_dict()
        data["suggestion"] = None
        for key, limit in MAX_MARKER_TEXT.items():
            data[key] = truncate(data[key], limit, "…")
        payload["f"] = data
    return f"<!-- codex-review:v1:comment {_dumps(payload)} -->"


def _last_comment_payload(body: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = None
    for match in _COMMENT.finditer(body):
        data = _json_object(match.group(1))
        if data is not None and _is_fingerprint(data.get("fp")):
            found = data
    return found


def parse_comment_marker(body: str) -> str | None:
    """The fingerprint in the last well-formed comment marker of ``body``, or ``None``."""
    data = _last_comment_payload(body)
    return None if data is None else str(data["fp"])


def _finding_from(data: object) -> Finding | None:
    if not isinstance(data, dict):
        return None
    texts = ("path", "quote", "title", "body")
    numbers = ("line_start", "line_end", "priority")
    if not all(isinstance(data.get(key), str) for key in texts):
        return None
    if not all(type(data.get(key)) is int for key in numbers):
        return None
    if data["priority"] not in PRIORITIES or not 0 < data["line_start"] <= data["line_end"]:
        return None
    return Finding.from_dict({**data, "suggestion": None})


def parse_comment_finding(body: str) -> Finding | None:
    """The finding carried by the last well-formed comment marker of ``body``, or ``None``.

    Only call it on comments written by the bot: the marker is trusted for what
    it says only because the bot wrote it. The result is data for a prompt, not
    an instruction.
    """
    data = _last_comment_payload(body)
    return None if data is None else _finding_from(data.get("f"))


@dataclass(frozen=True, slots=True)
class PriorReviews:
    """What the bot already said on a pull request."""

    last: ReviewMarker | None
    fingerprints: frozenset[str]
    reviewed_heads: frozenset[str]

    @property
    def last_reviewed_sha(self) -> str | None:
        return None if self.last is None else self.last.head_sha

    @classmethod
    def collect(
        cls, *, bot_login: str, reviews: Iterable[Authored], comments: Iterable[Authored] = ()
    ) -> Self:
        """Read markers from ``reviews`` (oldest first, as GitHub lists them) and from
        review ``comments``, keeping only those written by ``bot_login``.

        ``last`` is the marker of the latest such review; ``fingerprints`` is everything
        ever posted, whether the thread is open, resolved or outdated.
        """
        me = bot_login.casefold()
        last: ReviewMarker | None = None
        fingerprints: set[str] = set()
        heads: set[str] = set()
        for login, body in reviews:
            if login is None or body is None or login.casefold() != me:
                continue
            marker = ReviewMarker.parse(body)
            if marker is not None:
                last = marker
                heads.add(marker.head_sha)
                fingerprints.update(marker.fingerprints)
        for login, body in comments:
            if login is None or body is None or login.casefold() != me:
                continue
            fingerprint = parse_comment_marker(body)
            if fingerprint is not None:
                fingerprints.add(fingerprint)
        return cls(last=last, fingerprints=frozenset(fingerprints), reviewed_heads=frozenset(heads))
