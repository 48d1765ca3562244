"""Fingerprints: the identity of a finding across pushes.

A fingerprint hashes the path, the quoted code with every run of whitespace
collapsed to one space (case kept: ``Foo`` and ``foo`` are different code),
and the title with whitespace collapsed, case folded and trailing punctuation
dropped. Line numbers are left out on purpose, so a push that only moves code
up or down gives the same fingerprint and the finding is not posted again.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Protocol

FINGERPRINT_LENGTH: Final = 20
FINGERPRINT_PATTERN: Final = re.compile(rf"^[0-9a-f]{{{FINGERPRINT_LENGTH}}}$")
_VERSION: Final = "fp1"


class Fingerprintable(Protocol):
    """What a fingerprint reads from a finding."""

    @property
    def path(self) -> str: ...
    @property
    def quote(self) -> str: ...
    @property
    def title(self) -> str: ...


def normalise_code(quote: str) -> str:
    return " ".join(quote.split())


def normalise_title(title: str) -> str:
    return " ".join(title.split()).casefold().rstrip(".!:;, ")


def fingerprint(path: str, quote: str, title: str) -> str:
    """A short hex digest of (path, normalised quote, normalised title)."""
    material = "\0".join(
        (_VERSION, path.strip().lstrip("/"), normalise_code(quote), normalise_title(title))
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def fingerprint_of(finding: Fingerprintable, path: str | None = None) -> str:
    """The fingerprint of ``finding``; ``path`` overrides its path (the anchored one)."""
    return fingerprint(finding.path if path is None else path, finding.quote, finding.title)
