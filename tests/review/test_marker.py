"""Hidden markers: round trip, authorship, and tampering."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.findings import Finding
from workers.review.marker import (
    PriorReviews,
    ReviewMarker,
    comment_marker,
    parse_comment_finding,
    parse_comment_marker,
)

BOT = "codex-review[bot]"
HEAD = "a" * 40
BASE = "b" * 40
NEWER = "c" * 40
FP1 = "0123456789abcdef0123"
FP2 = "fedcba9876543210fedc"


def test_review_marker_round_trips_inside_a_body() -> None:
    marker = ReviewMarker(head_sha=HEAD, base_sha=BASE, fingerprints=(FP1, FP2, FP1))
    rendered = marker.render()
    assert rendered.startswith("<!-- codex-review:v1 {")
    assert rendered.endswith("} -->")
    parsed = ReviewMarker.parse(f"### Review\n\ntext\n\n{rendered}\n")
    assert parsed == ReviewMarker(head_sha=HEAD, base_sha=BASE, fingerprints=(FP1, FP2))


def test_comment_marker_round_trips() -> None:
    assert parse_comment_marker(f"**P1** · x\n\nbody\n\n{comment_marker(FP1)}") == FP1


def test_malformed_markers_are_ignored() -> None:
    bad = [
        "<!-- codex-review:v1 {not json} -->",
        '<!-- codex-review:v1 {"head": "xyz", "base": null, "fps": []} -->',
        '<!-- codex-review:v1 {"head": "' + HEAD + '", "base": 5, "fps": []} -->',
        '<!-- codex-review:v1 {"head": "' + HEAD + '", "base": null, "fps": "x"} -->',
        '<!-- codex-review:v1 ["list"] -->',
        "<!-- codex-review:v1 {",
    ]
    for body in bad:
        assert ReviewMarker.parse(body) is None, body
    assert parse_comment_marker('<!-- codex-review:v1:comment {"fp": "ZZ"} -->') is None
    assert parse_comment_marker('<!-- codex-review:v1:comment {"fp": 12} -->') is None


def test_invalid_fingerprints_are_dropped_not_the_marker() -> None:
    body = (
        '<!-- codex-review:v1 {"head": "'
        + HEAD
        + '", "base": null, "fps": ["'
        + FP1
        + '", 7, "../../etc", null]} -->'
    )
    assert ReviewMarker.parse(body) == ReviewMarker(HEAD, None, (FP1,))


def test_last_valid_marker_wins() -> None:
    first = ReviewMarker(HEAD, None, (FP1,)).render()
    second = ReviewMarker(NEWER, HEAD, (FP2,)).render()
    assert ReviewMarker.parse(f"{first}\n{second}\n<!-- codex-review:v1 {{bad}} -->") == (
        ReviewMarker(NEWER, HEAD, (FP2,))
    )


def test_collect_reads_only_the_bots_own_bodies() -> None:
    forged = ReviewMarker(NEWER, None, ("9" * 20,)).render()
    prior = PriorReviews.collect(
        bot_login=BOT,
        reviews=[
            (BOT, ReviewMarker(HEAD, BASE, (FP1,)).render()),
            ("mallory", forged),
            (None, forged),
            ("Codex-Review[bot]", "no marker, human-edited body"),
            (BOT, None),
        ],
        comments=[
            (BOT, "x " + comment_marker(FP2)),
            ("mallory", comment_marker("1" * 20)),
        ],
    )
    assert prior.last_reviewed_sha == HEAD
    assert prior.reviewed_heads == frozenset({HEAD})
    assert prior.fingerprints == frozenset({FP1, FP2})


def test_latest_review_is_last_in_order() -> None:
    prior = PriorReviews.collect(
        bot_login=BOT,
        reviews=[
            (BOT, ReviewMarker(HEAD, None, ()).render()),
            (BOT, ReviewMarker(NEWER, HEAD, ()).render()),
        ],
    )
    assert prior.last_reviewed_sha == NEWER
    assert prior.reviewed_heads == frozenset({HEAD, NEWER})


def test_nothing_prior() -> None:
    prior = PriorReviews.collect(bot_login=BOT, reviews=[])
    assert prior.last is None
    assert prior.last_reviewed_sha is None
    assert prior.fingerprints == frozenset()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(alphabet='<!-{}":, codexrviw1ab', max_size=120))
def test_parsing_arbitrary_text_never_raises(noise: str, fragment: str) -> None:
    body = noise + "<!-- codex-review:v1 " + fragment + " -->" + noise
    marker = ReviewMarker.parse(body)
    if marker is not None:
        assert len(marker.head_sha) in (40, 64)
    parse_comment_marker(body)


def test_rendered_marker_is_compact_json() -> None:
    rendered = ReviewMarker(HEAD, None, (FP1,)).render()
    payload = json.loads(rendered.removeprefix("<!-- codex-review:v1 ").removesuffix(" -->"))
    assert payload == {"head": HEAD, "base": None, "fps": [FP1]}


def _finding(**changes: object) -> Finding:
    data: dict[str, object] = {
        "path": "src/a.py",
        "line_start": 3,
        "line_end": 4,
        "quote": "x = 1\ny = 2",
        "priority": 1,
        "title": "Title",
        "body": "Body",
        "suggestion": "ignored",
    }
    data.update(changes)
    return Finding.from_dict(data)


def test_comment_marker_carries_the_finding_for_fix() -> None:
    body = "visible text\n\n" + comment_marker(FP1, _finding())
    assert parse_comment_marker(body) == FP1
    assert parse_comment_finding(body) == _finding(suggestion=None)


def test_marker_text_cannot_close_the_html_comment() -> None:
    hostile = _finding(body="end --> <!-- codex-review:v1:comment {} --> --!> <b>", quote="a<b>c")
    marker = comment_marker(FP1, hostile)
    assert marker.count("-->") == 1
    assert marker.endswith(" -->")
    assert "<b>" not in marker
    parsed = parse_comment_finding(f"x {marker}")
    assert parsed is not None
    assert parsed.body == hostile.body
    assert parsed.quote == "a<b>c"


def test_long_marker_texts_are_cut() -> None:
    marker = comment_marker(FP1, _finding(body="é" * 10_000, quote="q" * 10_000))
    parsed = parse_comment_finding(marker)
    assert parsed is not None
    assert len(parsed.body.encode()) <= 1_500
    assert len(parsed.quote.encode()) <= 1_500


def test_a_marker_without_a_valid_finding_gives_none() -> None:
    assert parse_comment_finding(comment_marker(FP1)) is None
    forged = (
        '<!-- codex-review:v1:comment {"fp": "' + FP1 + '", "f": {"path": "a", "priority": 9}} -->'
    )
    assert parse_comment_finding(forged) is None
    bad_lines = comment_marker(FP1, _finding(line_start=5, line_end=2))
    assert parse_comment_finding(bad_lines) is None
    assert parse_comment_marker(bad_lines) == FP1
