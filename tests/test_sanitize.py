"""The output filter: examples first, then properties over arbitrary text."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_common.slash import parse_command
from workers.sanitize import (
    MENTION_BREAK,
    REDACTED,
    byte_length,
    sanitize,
    sanitize_code,
    truncate,
)

ALNUM = string.ascii_letters + string.digits


def test_mentions_are_broken_but_stay_readable() -> None:
    out = sanitize("ping @octocat and @org/team, mail me@example.com")
    assert "@octocat" not in out
    assert "@org/team" not in out
    assert out.replace(MENTION_BREAK, "") == "ping @octocat and @org/team, mail me@example.com"


def test_command_lines_are_escaped_not_dropped() -> None:
    out = sanitize("Try this:\n/codex fix all\n   /CODEX review\nnot /codex here")
    assert out.splitlines() == [
        "Try this:",
        "\\/codex fix all",
        "   \\/CODEX review",
        "not /codex here",
    ]
    assert parse_command(out) is None


def test_command_after_unusual_line_break_is_escaped() -> None:
    out = sanitize("fine\u2028/codex fix\x1c/codex review")
    assert not any(line.lstrip().lower().startswith("/codex") for line in out.splitlines())


@pytest.mark.parametrize(
    "secret",
    [
        "ghs_" + "A1b2C3d4" * 5,
        "ghp_" + "z" * 36,
        "gho_" + "Q" * 36,
        "ghu_" + "7" * 36,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "sk-proj-" + "x9" * 20,
        "sk-" + "a" * 48,
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghij",
        "AIza" + "B" * 35,
    ],
)
def test_secrets_are_redacted(secret: str) -> None:
    out = sanitize(f"leaked: {secret} here")
    assert secret not in out
    assert out.replace(MENTION_BREAK, "") == f"leaked: {REDACTED} here"


def test_pem_private_key_is_redacted_whole_even_unterminated() -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nAAAA\n"
    closed = sanitize(f"a\n{key}-----END OPENSSH PRIVATE KEY-----\nb")
    assert closed == f"a\n{REDACTED}\nb"
    assert sanitize(f"a\n{key}rest") == f"a\n{REDACTED}"


def test_aws_secret_keeps_its_label() -> None:
    out = sanitize("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert out == f"aws_secret_access_key = {REDACTED}"


def test_ordinary_words_are_not_redacted() -> None:
    text = "Use scikit-learn; the task-runner risk-free; ghs_ prefix means server token."
    assert sanitize(text) == text


def test_foreign_links_and_images_keep_only_text() -> None:
    text = (
        'See [the docs](https://evil.example/x?a=1 "t") and ![pixel](http://evil.example/p.png)'
        " and [repo](https://github.com/o/r/blob/main/a.py#L3) and [rel](../b.py)"
        " and [proto](//evil.example/z)."
    )
    assert sanitize(text) == (
        "See the docs and pixel and [repo](https://github.com/o/r/blob/main/a.py#L3)"
        " and [rel](../b.py) and proto."
    )


def test_bare_and_angle_urls_are_defanged_unless_on_the_repository_host() -> None:
    text = "go https://evil.example/a, <http://evil.example/b>, www.evil.example/c, https://github.com/o"
    assert sanitize(text) == (
        "go hxxps://evil.example/a, hxxp://evil.example/b, www[.]evil.example/c, https://github.com/o"
    )


def test_enterprise_host_is_the_allowed_one() -> None:
    text = "[a](https://ghe.corp/o/r) [b](https://github.com/o/r)"
    assert sanitize(text, allowed_host="ghe.corp") == "[a](https://ghe.corp/o/r) b"


def test_html_media_and_anchor_tags_are_removed() -> None:
    text = 'x <img src="https://evil.example/t.gif"> <a href="https://evil.example">y</a> z'
    assert sanitize(text) == "x  y z"


def test_reference_definitions_to_foreign_hosts_are_dropped() -> None:
    text = "[x][1]\n\n[1]: https://evil.example/track\n[2]: https://github.com/o/r"
    assert sanitize(text) == "[x][1]\n\n\n[2]: https://github.com/o/r"


def test_hidden_comments_and_forged_markers_are_removed() -> None:
    text = 'ok <!-- codex-review:v1 {"head": "x"} --> done <!<!---->-- tail'
    out = sanitize(text)
    assert "<!--" not in out
    assert "codex-review" not in out
    assert out == "ok  done &lt;!-- tail"


def test_unterminated_comment_does_not_hide_the_rest() -> None:
    assert sanitize("visible <!-- hidden forever") == "visible &lt;!-- hidden forever"


def test_invisible_and_bidi_characters_are_removed() -> None:
    text = "a\u200bb\u202ec\u2066d\ufeffe\U000e0041f"
    assert sanitize(text) == "abcdef"


def test_zero_width_cannot_smuggle_a_token_or_command() -> None:
    out = sanitize("gh\u200bs_" + "k" * 36 + "\n/\u200bcodex fix")
    assert "k" * 36 not in out
    assert parse_command(out) is None


def test_length_is_capped_in_utf8_bytes() -> None:
    out = sanitize("é" * 10_000, max_bytes=1_000)
    assert byte_length(out) <= 1_000
    assert out.endswith("(truncated)")
    assert out.startswith("é" * 100)


def test_truncate_leaves_short_text_alone_and_fits_tiny_limits() -> None:
    assert truncate("short", 10) == "short"
    assert byte_length(truncate("x" * 50, 5)) <= 5
    assert byte_length(truncate("😀" * 50, 41)) <= 41


def test_sanitize_code_passes_ordinary_code_verbatim() -> None:
    code = "@property\ndef name(self) -> str:\n    return f'{self.a}@{self.b}'  # <!-- ok -->\n"
    assert sanitize_code(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "token = 'ghp_" + "a" * 36 + "'\n",
        "x = 1\n  /codex fix\n",
        "s = 'a\u202eb'\n",
        "# <!-- codex-review:v1 {} -->\n",
    ],
)
def test_sanitize_code_refuses_what_it_cannot_post_verbatim(code: str) -> None:
    assert sanitize_code(code) is None


# -- properties ---------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "@",
        "@octocat",
        "@org/team",
        "/codex",
        "/codex fix",
        "/CoDeX review",
        "\n",
        "\r\n",
        "\u2028",
        " ",
        "\t",
        "<!--",
        "-->",
        "<!",
        "--",
        "[",
        "]",
        "(",
        ")",
        "!",
        "<",
        ">",
        "](https://evil.example/x)",
        "https://evil.example/",
        "https://github.com/o/r",
        "www.evil.example/",
        "ghs_",
        "ghp_",
        "sk-",
        "AKIA",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "\u200b",
        "\u2060",
        "\u202e",
        "\\",
        "`",
        "é",
        "😀",
    ]
)
TEXT = st.lists(
    st.one_of(FRAGMENTS, st.text(alphabet=ALNUM + "-_ ", max_size=24), st.text(max_size=8)),
    max_size=40,
).map("".join)
TOKEN_BODY = st.text(alphabet=ALNUM, min_size=36, max_size=40)

_UNBROKEN_MENTION = re.compile(r"@[A-Za-z0-9]")
_PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPS
@given(TEXT)
def test_no_mention_command_or_comment_survives(text: str) -> None:
    out = sanitize(text)
    assert not _UNBROKEN_MENTION.search(out)
    assert "<!--" not in out
    assert not any(line.lstrip().lower().startswith("/codex") for line in out.splitlines())
    assert parse_command(out) is None
    assert not re.search("[\u200b\u202e]", out)


@_PROPS
@given(TEXT)
def test_sanitize_is_idempotent(text: str) -> None:
    once = sanitize(text)
    assert sanitize(once) == once


@_PROPS
@given(TEXT, st.integers(min_value=0, max_value=300))
def test_output_is_bounded_and_idempotent_under_a_cap(text: str, cap: int) -> None:
    out = sanitize(text, max_bytes=cap)
    assert byte_length(out) <= cap
    assert sanitize(out, max_bytes=cap) == out


@_PROPS
@given(
    TEXT,
    TEXT,
    st.sampled_from(["ghs_", "ghp_", "gho_", "github_pat_", "sk-", "sk-proj-"]),
    TOKEN_BODY,
)
def test_embedded_tokens_never_come_out(before: str, after: str, prefix: str, body: str) -> None:
    out = sanitize(f"{before} {prefix}{body} {after}")
    assert body not in out


@_PROPS
@given(TEXT, st.text(alphabet=ALNUM + "/-._", min_size=1, max_size=20))
def test_no_link_to_a_foreign_host_survives(text: str, path: str) -> None:
    out = sanitize(f"{text}[x](https://evil.example/{path}) ![y](http://evil.example/{path})")
    assert "https://evil.example" not in out
    assert "http://evil.example" not in out
    assert "](//evil.example" not in out
