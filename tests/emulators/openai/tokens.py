"""The emulator's token arithmetic: input counts and the prompt cache.

Tokens are approximated as 4-character blocks of the prompt text (the
``instructions``, then every string inside ``input`` that the model reads:
message contents, tool outputs and arguments), so counts are cheap and
deterministic; the real API counts o200k_base tokens, which for English text
and code are close to that.

Prompt caching follows OpenAI's documented rule: ``cached_tokens`` is non-zero
only when an earlier request sent exactly the same prefix of at least 1,024
tokens, and it grows in steps of 128 tokens beyond that. Prefixes are keyed on
the model and ``prompt_cache_key`` (which routes requests to a cache upstream).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

CHARS_PER_TOKEN = 4
CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128
_READ_KEYS = frozenset({"content", "text", "output", "arguments"})


def prompt_text(body: dict[str, Any]) -> str:
    """The text of a request the model reads, in order, as one string."""
    parts: list[str] = [str(body.get("instructions") or "")]

    def collect(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in _READ_KEYS:
                    collect(item)

    collect(body.get("input"))
    return "".join(parts)


def count_tokens(body: dict[str, Any]) -> int:
    """The emulator's token estimate: a quarter of the characters of all text sent.

    Counts ``instructions`` and every string inside ``input`` (message contents,
    tool outputs and arguments), not the JSON around them.
    """
    return math.ceil(len(prompt_text(body)) / CHARS_PER_TOKEN)


class PromptCache:
    """Prefixes seen so far, as hashes at each cacheable length. Not thread-safe: callers lock."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, int, bytes]] = set()

    def clear(self) -> None:
        self._seen.clear()

    def use(self, body: dict[str, Any]) -> int:
        """``cached_tokens`` for this request; then remember its prefixes for later ones."""
        route = (str(body.get("model")), str(body.get("prompt_cache_key") or ""))
        text = prompt_text(body)
        text_tokens = len(text) // CHARS_PER_TOKEN
        digest = hashlib.sha256()
        done = 0
        hit = 0
        missed = False
        tokens = CACHE_MIN_TOKENS
        while tokens <= text_tokens:
            end = tokens * CHARS_PER_TOKEN
            digest.update(text[done:end].encode())
            done = end
            entry = (*route, tokens, digest.digest())
            if not missed and entry in self._seen:
                hit = tokens
            else:
                missed = True
            self._seen.add(entry)
            tokens += CACHE_STEP_TOKENS
        return hit
