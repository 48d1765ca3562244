"""Anchoring findings and applying suggestions, by example and by property."""

from __future__ import annotations

import difflib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.diff.anchor import anchor_findings
from workers.diff.patch import FileDiff, parse_patch
from workers.edits import locate, quote_lines, replace_lines, replace_quote, split_lines
from workers.findings import Finding

OLD = (
    "import os\n\n\ndef load(path):\n    with open(path) as f:\n        return f.read()\n"
    "\n\ndef size(path):\n    return os.path.getsize(path)\n"
)
NEW = (
    "import os\n\n\ndef load(path):\n    with open(path, encoding='utf-8') as f:\n"
    "        data = f.read()\n    return data\n\n\ndef size(path):\n"
    "    return os.stat(path).st_size\n"
)


def make_patch(old: str, new: str, context: int = 3) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), n=context
    )
    body = [ln if ln.endswith("\n") else ln + "\n" for ln in list(lines)[2:]]
    return "".join(body)


def finding(
    quote: str, start: int, end: int | None = None, suggestion: str | None = None
) -> Finding:
    return Finding("io.py", start, end or start, quote, 1, "t", "b", suggestion)


def diff_of(old: str, new: str, context: int = 3) -> FileDiff:
    return parse_patch("io.py", make_patch(old, new, context))


def test_exact_quote_with_wrong_numbers_is_moved_to_the_true_line() -> None:
    diff = diff_of(OLD, NEW)
    result = anchor_findings([finding("        data = f.read()", 2)], [diff], {"io.py": NEW})
    (anchored,) = result.anchored
    assert (anchored.line, anchored.start_line, anchored.side, anchored.match) == (
        6,
        None,
        "RIGHT",
        "exact",
    )


def test_multi_line_range_and_whitespace_match_drops_suggestion() -> None:
    diff = diff_of(OLD, NEW)
    quote = "with open(path, encoding='utf-8') as f:\n data = f.read()"
    result = anchor_findings(
        [finding(quote, 5, 6, suggestion="    with open(path) as f:\n        data = f.read()")],
        [diff],
        {"io.py": NEW},
    )
    (anchored,) = result.anchored
    assert (anchored.start_line, anchored.line, anchored.match) == (5, 6, "whitespace")
    assert anchored.suggestion is None
    assert anchored.suggestion_note == "quote matched only whitespace; suggestion not applied"


def test_unanchorable_findings_go_to_the_summary() -> None:
    diff = diff_of(OLD, NEW, context=0)
    findings = [
        finding("import os", 1),  # outside every hunk with no context lines
        Finding("other.py", 1, 1, "x", 2, "t", "b"),
        finding("   ", 5),
        finding("    return data\n\n\ndef size(path):\n    return os.stat(path).st_size", 7, 11),
    ]
    result = anchor_findings(findings, [diff], {"io.py": NEW})
    assert result.anchored == ()
    assert [u.reason for u in result.unanchored] == [
        "quoted lines not found in the diff",
        "file is not part of the diff",
        "finding quotes no code",
        "quoted lines not found in the diff",
    ]


def test_suggestions_kept_or_dropped_with_reasons() -> None:
    diff = diff_of(OLD, NEW)
    same = finding(
        "    return os.stat(path).st_size", 11, suggestion="    return os.stat(path).st_size"
    )
    broken = finding(
        "    return os.stat(path).st_size", 11, suggestion="    return os.stat(path.st_size"
    )
    good = finding(
        "    return os.stat(path).st_size", 11, suggestion="    return os.path.getsize(path)"
    )
    result = anchor_findings([same, broken, good], [diff], {"io.py": NEW})
    notes = [(a.suggestion, a.suggestion_note) for a in result.anchored]
    assert notes == [
        (None, "suggestion changes nothing"),
        (None, "suggestion leaves the Python file unparseable"),
        ("    return os.path.getsize(path)", None),
    ]


def test_fuzzy_match_inside_a_hunk() -> None:
    lines = ["alpha = compute(1, 2)", "beta = alpha * 2", "print(beta)"]
    match = locate(lines, "beta = alpha *  3", 1)
    assert match is not None
    assert (match.start, match.kind) == (2, "fuzzy")
    assert locate(lines, "completely different text here", 1) is None


def test_replace_quote_keeps_crlf_and_final_newline() -> None:
    text = "a\r\nb\r\nc"
    edit = replace_quote(text, "b", "B1\nB2", 2)
    assert edit.text == "a\r\nB1\r\nB2\r\nc"
    assert replace_quote("x\n", "y", "z", 1).reason == "quoted lines not found"


# --- properties ----------------------------------------------------------------------------

_line = st.text(alphabet="abc xyz()=_:\t", min_size=0, max_size=12)
_file = st.lists(_line, min_size=1, max_size=40)


@st.composite
def edited_file(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    old = draw(_file)
    new = list(old)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(new)))
        if op == "insert" or not new:
            new.insert(at, draw(_line))
        elif op == "delete":
            del new[min(at, len(new) - 1)]
        else:
            new[min(at, len(new) - 1)] = draw(_line)
    return old, new


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), files=edited_file())
def test_every_anchor_satisfies_github_and_matches_the_quote(
    data: st.DataObject, files: tuple[list[str], list[str]]
) -> None:
    old, new = files
    old_text, new_text = "".join(f"{x}\n" for x in old), "".join(f"{x}\n" for x in new)
    diff = parse_patch("io.py", make_patch(old_text, new_text, data.draw(st.integers(0, 3))))
    right = sorted(diff.right_lines)
    head = split_lines(new_text)
    findings = []
    for _ in range(3):
        if right:
            start = data.draw(st.sampled_from(right))
            end = data.draw(st.integers(start, min(start + 3, len(head))))
            quote = "\n".join(head[start - 1 : end])
        else:
            start, end, quote = 1, 1, data.draw(_line)
        hint = max(1, start + data.draw(st.integers(-5, 5)))
        suggestion = data.draw(st.one_of(st.none(), _line))
        findings.append(Finding("io.py", hint, hint, quote, 2, "t", "b", suggestion))
    result = anchor_findings(findings, [diff], {"io.py": new_text})
    assert len(result.anchored) + len(result.unanchored) == len(findings)
    for anchored in result.anchored:
        first = anchored.start_line or anchored.line
        assert anchored.side == "RIGHT"
        assert anchored.start_line is None or anchored.start_line < anchored.line
        assert diff.same_hunk(first, anchored.line)
        shown = head[first - 1 : anchored.line]
        wanted = quote_lines(anchored.finding.quote)
        if anchored.match == "exact":
            assert shown == wanted
        elif anchored.match == "whitespace":
            assert [" ".join(s.split()) for s in shown] == [" ".join(q.split()) for q in wanted]
        else:
            assert len(shown) == len(wanted)
        if anchored.suggestion is not None:
            after = split_lines(replace_lines(new_text, first, anchored.line, anchored.suggestion))
            replacement = split_lines(anchored.suggestion)
            assert after[: first - 1] == head[: first - 1]
            assert after[first - 1 + len(replacement) :] == head[anchored.line :]
            assert after[first - 1 : first - 1 + len(replacement)] == replacement
            assert after != head
