"""Filter model-produced text before anything posts it to GitHub.

The model reads untrusted diffs, so its output is untrusted too. ``sanitize``
turns any text into something safe to post as Markdown prose:

- invisible characters (zero-width, bidi controls, Unicode tag characters) are
  removed first, so they cannot hide anything from the later steps;
- HTML comments are removed (an unterminated opener is shown as text), so the
  text cannot carry hidden instructions or forge the bot's own markers;
- secret-looking strings (GitHub tokens, OpenAI keys, AWS keys, PEM private
  keys) become ``[redacted]``;
- images and links to hosts other than the repository's GitHub host keep only
  their text; bare foreign URLs are defanged (``hxxps://``) so GitHub does not
  autolink them;
- lines that start with ``/codex`` are escaped (``\\/codex`` renders the same
  but is no longer a command);
- ``@mentions`` get a word joiner after the ``@``, which GitHub does not link;
- the result is capped in UTF-8 bytes, an upper bound for every way GitHub
  might count it.

``sanitize`` is idempotent: sanitising its output changes nothing.
``sanitize_code`` is the stricter check for suggestion code, which must reach
GitHub byte for byte or not at all.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

REDACTED: Final = "[redacted]"
TRUNCATED_NOTE: Final = "\n\n… (truncated)"
DEFAULT_MAX_BYTES: Final = 60_000
MENTION_BREAK: Final = "\u2060"  # WORD JOINER: invisible, and GitHub does not link "@\u2060x".

_INVISIBLE: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)

_SECRETS: Final = (
    # PEM private keys, terminated or not (an unterminated block is redacted to the end).
    re.compile(
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY-----|\Z)",
        re.DOTALL,
    ),
    re.compile(r"(?<![A-Za-z0-9_])gh[opsur]_[A-Za-z0-9]{16,}"),
    re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{16,}"),
    re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    re.compile(r"(?i)(?P<keep>secret_access_key\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{30,}"),
    re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}"),
)

# [text](destination "title") and ![alt](destination); destinations may hold one level
# of balanced parentheses, as in Wikipedia URLs.
_MD_LINK: Final = re.compile(
    r"(!?)\[([^\[\]\n]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_REF_DEFINITION: Final = re.compile(r"(?m)^ {0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t].*)?$")
_HTML_MEDIA: Final = re.compile(
    r"</?(?:img|image|picture|source|video|audio|iframe|object|embed|a)\b[^>]*>", re.IGNORECASE
)
_AUTOLINK: Final = re.compile(r"<((?:https?|ftp)://[^\s<>]*)>", re.IGNORECASE)
_SCHEME: Final = re.compile(r"(https?|ftp)://", re.IGNORECASE)
_URL: Final = re.compile(r"(?:https?|ftp)://[^\s<>()\[\]`\"']+", re.IGNORECASE)
_WWW: Final = re.compile(r"(?<![\w./@-])www\.([A-Za-z0-9-]+\.[A-Za-z0-9.-]*)", re.IGNORECASE)
# Line starts as Python's str.splitlines() sees them, the widest reading of "a line".
# The indentation class leaves line breaks out so that a run of blank lines is not
# rescanned from every line start (quadratic time on hostile input).
_COMMAND_LINE: Final = re.compile(
    r"(?:\A|(?<=[\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]))"
    r"([^\S\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]*)(/codex)",
    re.IGNORECASE,
)
_MAX_ROUNDS: Final = 8
_DEFANGED: Final = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
_MENTION: Final = re.compile(r"@(?=[A-Za-z0-9])")


def byte_length(text: str) -> int:
    """Length in UTF-8 bytes: never less than what GitHub counts, in characters or units."""
    return len(text.encode("utf-8"))


def truncate(text: str, max_bytes: int, note: str = TRUNCATED_NOTE) -> str:
    """``text`` unchanged when it fits in ``max_bytes``, else cut and ended with ``note``.

    The result always fits (the note itself is cut when ``max_bytes`` is tiny).
    """
    if byte_length(text) <= max_bytes:
        return text
    room = max_bytes - byte_length(note)
    if room <= 0:
        return note.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    head = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    return head + note


def _allowed(url: str, allowed_host: str) -> bool:
    """Relative URLs and URLs on the repository's host (or a subdomain of it) are kept."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in ("", "http", "https"):
        return False
    host = (parts.hostname or "").lower()
    if not host:
        # "//host/x" without a scheme still has a host; a bare path does not.
        return not url.strip().startswith("//")
    return host == allowed_host or host.endswith("." + allowed_host)


def _strip_comments(text: str) -> str:
    """Remove complete comments, then defuse any opener left (unterminated, or formed
    by the removal) so it shows as text instead of hiding what follows. Linear time."""
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) >= 0:
        end = text.find("-->", start + 2)  # "<!-->" is a complete, empty comment
        if end < 0:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept).replace("<!--", "&lt;!--")


def _redact(text: str) -> str:
    def redact(match: re.Match[str]) -> str:
        keep = match.group("keep") if "keep" in match.re.groupindex else ""
        return keep + REDACTED

    for pattern in _SECRETS:
        text = pattern.sub(redact, text)
    return text


def _unlink(text: str, allowed_host: str) -> str:
    def link(match: re.Match[str]) -> str:
        if _allowed(match.group(3), allowed_host):
            return match.group(0)
        return match.group(2)

    def reference(match: re.Match[str]) -> str:
        return match.group(0) if _allowed(match.group(1), allowed_host) else ""

    def autolink(match: re.Match[str]) -> str:
        return match.group(0) if _allowed(match.group(1), allowed_host) else match.group(1)

    def bare(match: re.Match[str]) -> str:
        scheme, rest = match.group(0).split("://", 1)
        # A URL can carry further URLs in its path; defang those whatever the host.
        rest = _SCHEME.sub(lambda m: _DEFANGED.get(m.group(1).lower(), "xx") + "://", rest)
        if _allowed(match.group(0), allowed_host):
            return scheme + "://" + rest
        return _DEFANGED.get(scheme.lower(), "xx") + "://" + rest

    previous = None
    while previous != text:  # a removed link may expose another one in its text
        previous = text
        text = _MD_LINK.sub(link, text)
    text = _REF_DEFINITION.sub(reference, text)
    text = _HTML_MEDIA.sub("", text)
    text = _AUTOLINK.sub(autolink, text)
    text = _URL.sub(bare, text)

    def www(match: re.Match[str]) -> str:
        if _allowed("//" + match.group(0), allowed_host):
            return match.group(0)
        return "www[.]" + match.group(1)

    return _WWW.sub(www, text)


def sanitize(
    text: str, *, allowed_host: str = "github.com", max_bytes: int = DEFAULT_MAX_BYTES
) -> str:
    """Make model-produced Markdown safe to post (see the module docstring).

    ``allowed_host`` is the repository's GitHub host (``github.com`` or an
    Enterprise Server host); links there stay links. The result fits in
    ``max_bytes`` UTF-8 bytes.
    """
    host = allowed_host.lower()
    # Bound the work on hostile input; cleaning rarely shrinks text by more than this.
    text = truncate(text, 4 * max_bytes + 1024)
    # Each step can expose something an earlier one looks for (removing a link can join
    # the halves of a token; cutting can end a string where a pattern ends), so the
    # steps run until nothing changes; in practice the second round is the last.
    for _ in range(_MAX_ROUNDS):
        cleaned = truncate(_clean(text, host), max_bytes)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean(text: str, host: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _strip_comments(text)
    text = _unlink(text, host)
    text = _strip_comments(text)  # unlinking can join "<!" and "--" too
    text = _redact(text)
    text = _COMMAND_LINE.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _MENTION.sub("@" + MENTION_BREAK, text)


def sanitize_code(code: str) -> str | None:
    """``code`` when it can be posted verbatim as a suggestion, else ``None``.

    A suggestion is applied byte for byte, so it is never rewritten: it is
    refused when it holds a secret, invisible or bidi characters (Trojan
    Source), a line that reads as a ``/codex`` command, or text that looks like
    the bot's own hidden marker.
    """
    if _INVISIBLE.search(code) or "codex-review:" in code:
        return None
    if any(pattern.search(code) for pattern in _SECRETS):
        return None
    if any(line.strip().lower().startswith("/codex") for line in code.splitlines()):
        return None
    return code
