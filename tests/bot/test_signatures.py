from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.errors import SignatureError
from bot.signatures import sign, verify

GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_HEADER = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_documented_vector_signs_and_verifies() -> None:
    assert sign(GITHUB_SECRET, GITHUB_BODY) == GITHUB_HEADER
    verify(GITHUB_BODY, GITHUB_HEADER, [GITHUB_SECRET])


def test_any_configured_secret_verifies_during_rotation() -> None:
    verify(GITHUB_BODY, GITHUB_HEADER, [b"the-new-secret", GITHUB_SECRET])
    verify(GITHUB_BODY, sign(b"the-new-secret", GITHUB_BODY), [b"the-new-secret", GITHUB_SECRET])


@pytest.mark.parametrize(
    ("body", "header", "secrets"),
    [
        pytest.param(b"Hello, World?", GITHUB_HEADER, [GITHUB_SECRET], id="body-changed"),
        pytest.param(GITHUB_BODY, GITHUB_HEADER, [b"another secret"], id="wrong-secret"),
        pytest.param(GITHUB_BODY, None, [GITHUB_SECRET], id="missing"),
        pytest.param(GITHUB_BODY, "", [GITHUB_SECRET], id="empty"),
        pytest.param(GITHUB_BODY, GITHUB_HEADER[7:], [GITHUB_SECRET], id="no-prefix"),
        pytest.param(GITHUB_BODY, GITHUB_HEADER.upper(), [GITHUB_SECRET], id="upper-prefix"),
        pytest.param(GITHUB_BODY, GITHUB_HEADER[:-1], [GITHUB_SECRET], id="truncated"),
        pytest.param(GITHUB_BODY, GITHUB_HEADER, [], id="no-secret-configured"),
        pytest.param(
            GITHUB_BODY,
            "sha1=" + hmac.new(GITHUB_SECRET, GITHUB_BODY, hashlib.sha1).hexdigest(),
            [GITHUB_SECRET],
            id="sha1-only",
        ),
        pytest.param(GITHUB_BODY, "sha256=zz\u00e9", [GITHUB_SECRET], id="non-ascii"),
    ],
)
def test_refused(body: bytes, header: str | None, secrets: list[bytes]) -> None:
    with pytest.raises(SignatureError):
        verify(body, header, secrets)
