"""Fingerprints survive moves and reformatting, and tell different findings apart."""

from __future__ import annotations

from workers.findings import Finding
from workers.review.fingerprint import FINGERPRINT_PATTERN, fingerprint, fingerprint_of


def _finding(**changes: object) -> Finding:
    base: dict[str, object] = {
        "path": "src/app.py",
        "line_start": 10,
        "line_end": 11,
        "quote": "if user.id == None:\n    return",
        "priority": 1,
        "title": "Compare with None using `is`",
        "body": "Use `is None`.",
        "suggestion": None,
    }
    base.update(changes)
    return Finding.from_dict(base)


def test_shape() -> None:
    assert FINGERPRINT_PATTERN.match(fingerprint_of(_finding()))


def test_moving_lines_or_rewording_the_body_keeps_the_fingerprint() -> None:
    original = fingerprint_of(_finding())
    assert fingerprint_of(_finding(line_start=40, line_end=41)) == original
    assert fingerprint_of(_finding(body="Different words.", priority=2)) == original
    assert fingerprint_of(_finding(suggestion="if user.id is None:\n    return")) == original


def test_whitespace_in_quote_and_title_case_are_normalised() -> None:
    original = fingerprint_of(_finding())
    reindented = _finding(quote="  if user.id == None:\n\t\treturn  \n")
    assert fingerprint_of(reindented) == original
    assert fingerprint_of(_finding(title="  compare WITH none using `is`. ")) == original


def test_code_case_path_and_title_words_matter() -> None:
    original = fingerprint_of(_finding())
    assert fingerprint_of(_finding(quote="if User.id == None:\n    return")) != original
    assert fingerprint_of(_finding(path="src/other.py")) != original
    assert fingerprint_of(_finding(title="Use is for None")) != original


def test_anchored_path_overrides() -> None:
    finding = _finding(path="./src/app.py")
    assert fingerprint_of(finding, "src/app.py") == fingerprint(
        "src/app.py", finding.quote, finding.title
    )
