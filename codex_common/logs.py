"""Structured logging for both processes, with secret redaction.

``configure_logging`` routes structlog *and* the standard library (uvicorn,
Celery, kombu) through one formatter: JSON lines in production, readable lines
in a terminal. Every record passes ``Redactor`` last before rendering, which
replaces the configured secrets' values and anything shaped like a GitHub or
OpenAI token, a PEM block or an ``Authorization`` header value with
``[REDACTED]``, and the password of any URL (``redis://:pw@host``) with
``***`` (``mask_url`` does the same for text printed outside the logs). Bind
``delivery_id`` with ``structlog.contextvars`` so every line of one delivery
carries it.

The receiver writes one line per delivery at INFO, so a line must stay cheap:
a text runs the token patterns only when it holds one of their literal
prefixes (``_may_hold_token``), structlog's own lines skip the stdlib
formatter's record copy, and JSON is rendered by orjson.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

REDACTED = "[REDACTED]"
URL_PASSWORD_MASK = "***"  # noqa: S105 (the mask, not a password)
# ``scheme://user:password@``: the password is everything up to the last ``@`` of the
# authority (a password may hold ``@`` and ``:``, percent-encoded or not).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^/\s]*@")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
        ),
        REDACTED,
    ),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,}"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{16,}"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED),
    (
        re.compile(
            r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|token|basic)\s+)?[^\s,'\"}]+"
        ),
        r"\1" + REDACTED,
    ),
    # JWTs (the App's own, signed with the private key).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), REDACTED),
    # The password inside any URL (broker, proxy, database).
    (_URL_PASSWORD, r"\1" + URL_PASSWORD_MASK + "@"),
)


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    ``redis://:secret@host:6379/0`` -> ``redis://:***@host:6379/0``; a URL
    without a password is returned unchanged.
    """
    return _URL_PASSWORD.sub(r"\1" + URL_PASSWORD_MASK + "@", text) if "://" in text else text


def _may_hold_token(text: str) -> bool:
    """False only when no pattern of ``_PATTERNS`` can match ``text``.

    Each pattern needs one of these literals (``gh`` starts every ``gh?_``
    token, ``://`` every URL), so a text holding none of them is
    left as it is. ``author``, not ``authorization``: the pattern ignores case
    the Unicode way, where ``İ`` and ``ı`` match ``i`` but lowercase to other
    text. Keep this in step with ``_PATTERNS``.
    """
    return (
        "gh" in text
        or "github_pat_" in text
        or "sk-" in text
        or "eyJ" in text
        or "://" in text
        or "-----BEGIN " in text
        or "author" in text.lower()
    )


_SENSITIVE_KEYS = frozenset(
    {"authorization", "password", "secret", "token", "private_key", "api_key", "webhook_secret"}
)


class Redactor:
    """A structlog processor that scrubs secrets from every value of an event dict."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if _may_hold_token(text):
            for pattern, replacement in _PATTERNS:
                text = pattern.sub(replacement, text)
        return text

    def _value(self, key: str, value: Any) -> Any:
        if key.lower() in _SENSITIVE_KEYS and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value("", v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(repr(value) if not isinstance(value, BaseException) else str(value))

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        secrets = self._secrets
        for key, value in event_dict.items():
            if (
                type(value) is str
                and key.lower() not in _SENSITIVE_KEYS
                and not _may_hold_token(value)
            ):
                # ``scrub`` inlined for the common case: plain text that needs no change.
                for secret in secrets:
                    if secret in value:
                        break
                else:
                    continue
            # Replacing the value of an existing key is safe while iterating.
            event_dict[key] = self._value(key, value)
        return event_dict


def _render_json(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
    """One JSON line; orjson, with the standard library for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(event_dict, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(event_dict, default=str)


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """``ProcessorFormatter`` with a short path for structlog's own lines.

    A structlog record already went through the shared chain; it only needs
    redacting and rendering. The base class first copies the whole
    ``LogRecord`` and then formats it a second time as ``%(message)s``, which
    changes nothing for such a record (its exception, if any, is already text
    in the event dict) but costs a good part of a line. Foreign records take
    the base class's way. The event dict is copied, never changed in place,
    so other handlers see the record as it was.
    """

    def __init__(self, final: tuple[Processor, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._final = final

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "_name", None)
        if (
            isinstance(name, str)
            and isinstance(record.msg, dict)
            and hasattr(record, "_logger")
            and record.exc_info is None
            and record.stack_info is None
        ):
            event_dict: Any = dict(record.msg)
            for processor in self._final:
                event_dict = processor(None, name, event_dict)
            return str(event_dict)
        return super().format(record)


def configure_logging(
    level: str = "INFO",
    fmt: str | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Install the handler on the root logger (replacing earlier ones) and configure structlog.

    ``fmt`` ``None`` (``LOG_FORMAT`` unset): readable lines when the stream is a
    terminal, JSON lines otherwise."""
    redactor = Redactor(secrets)
    out = stream or sys.stderr
    if fmt is None:
        fmt = "console" if _isatty(out) else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer: Processor = (
        _render_json if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = _Formatter(
        (redactor, renderer),
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redactor, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # A cached logger keeps this chain, which reads nothing from the arguments:
        # a later call (tests, ``serve``) only swaps the handler and the level.
        cache_logger_on_first_use=True,
    )
    return redactor


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
