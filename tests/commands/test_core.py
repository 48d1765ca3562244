"""Pure core of the fix command: schema validation, authorisation, target selection, messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import pytest

from workers.commands import messages, policy
from workers.commands.messages import CommentRef
from workers.commands.schema import FIX_SCHEMA, FixOutputError, FixProposal
from workers.commands.target import (
    FixTarget,
    is_safe_path,
    open_findings,
)
from workers.findings import Finding
from workers.github.models import ReviewComment

REF = CommentRef(kind="issue_comment", comment_id=4242)


def _finding(path: str, priority: int, title: str = "t") -> Finding:
    return Finding(
        path=path, line_start=3, line_end=4, quote="x = 1", priority=priority, title=title, body="b"
    )


def _comment(
    cid: int,
    *,
    path: str = "app.py",
    line: int | None = 10,
    reply_to: int | None = None,
    start: int | None = None,
) -> ReviewComment:
    return ReviewComment.from_dict(
        {
            "id": cid,
            "path": path,
            "line": line,
            "start_line": start,
            "original_line": 12,
            "original_start_line": 11,
            "side": "RIGHT",
            "diff_hunk": "@@ -1,3 +1,4 @@\n a\n+b",
            "in_reply_to_id": reply_to,
            "user": {"login": "someone"},
            "body": "hi",
        }
    )


# --- schema -----------------------------------------------------------------


def test_schema_is_strict_everywhere() -> None:
    jsonschema.Draft202012Validator.check_schema(FIX_SCHEMA)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node["additionalProperties"] is False
                assert sorted(node["required"]) == sorted(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(FIX_SCHEMA)


def test_proposal_normalises_paths_and_blank_refusal() -> None:
    proposal = FixProposal.from_model_output(
        {
            "summary": "  Guard the None case. ",
            "refusal": "  ",
            "edits": [{"path": "./src/a.py", "line_hint": 3, "quote": "x", "replacement": "y"}],
        }
    )
    assert proposal.summary == "Guard the None case."
    assert proposal.refusal is None
    assert proposal.edits[0].path == "src/a.py"
    assert proposal.edits[0].line_hint == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"summary": "s", "refusal": None},
        {"summary": "s", "refusal": None, "edits": [], "extra": 1},
        {
            "summary": "s",
            "refusal": None,
            "edits": [{"path": "a", "quote": "", "replacement": "", "line_hint": None}],
        },
        {
            "summary": "s",
            "refusal": None,
            "edits": [{"path": "a", "quote": "q", "replacement": 3, "line_hint": None}],
        },
    ],
)
def test_proposal_rejects_off_schema_output(bad: dict[str, object]) -> None:
    with pytest.raises(FixOutputError):
        FixProposal.from_model_output(bad)


# --- policy -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("association", "expected"),
    [
        ("NONE", "deny"),
        ("FIRST_TIMER", "deny"),
        ("first_time_contributor", "deny"),
        ("MANNEQUIN", "deny"),
        ("CONTRIBUTOR", "check"),
        ("COLLABORATOR", "check"),
        ("MEMBER", "check"),
        ("OWNER", "check"),
        (None, "check"),
    ],
)
def test_association_never_grants_only_refuses(association: str | None, expected: str) -> None:
    assert policy.precheck(association) == expected


@pytest.mark.parametrize(
    ("permission", "role", "allowed"),
    [
        ("admin", "admin", True),
        ("write", "write", True),
        ("write", "maintain", True),
        ("read", "triage", False),
        ("read", "read", False),
        ("none", None, False),
        (None, None, False),
        ("read", "maintain", True),
    ],
)
def test_permission_allows_write_maintain_admin(
    permission: str | None, role: str | None, allowed: bool
) -> None:
    assert policy.permission_allows(permission, role) is allowed


@pytest.mark.parametrize(
    ("login", "kind", "automated"),
    [
        ("dependabot[bot]", "Bot", True),
        ("codex-review[bot]", "Bot", True),
        ("Codex-Review[BOT]", None, True),
        ("someone", "Bot", True),
        ("alice", "User", False),
    ],
)
def test_bots_and_the_app_are_ignored(login: str, kind: str | None, automated: bool) -> None:
    assert policy.is_automated(login, kind, "codex-review[bot]") is automated


# --- target -----------------------------------------------------------------


def test_thread_target_uses_the_root_anchor_and_finding() -> None:
    root = _comment(1, path="pkg/mod.py", line=20, start=18)
    reply = _comment(2, path="pkg/mod.py", line=20, reply_to=1)
    finding = _finding("pkg/mod.py", 0)
    target = FixTarget.for_thread(reply, root, finding, "  also rename it ")
    assert target.paths == ("pkg/mod.py",)
    assert target.thread is not None
    assert target.thread.line_range == (18, 20)
    assert target.thread.diff_hunk.startswith("@@ -1,3 +1,4 @@")
    assert target.findings == (finding,)
    assert target.instruction == "also rename it"


def test_outdated_thread_falls_back_to_original_lines() -> None:
    root = _comment(1, line=None)
    target = FixTarget.for_thread(root, None, None, "")
    assert target.thread is not None
    assert target.thread.line_range == (11, 12)
    assert target.findings == ()


def test_bare_conversation_fix_takes_open_p0_p1_only() -> None:
    comments = [
        _comment(1),
        _comment(2),
        _comment(3, line=None),
        _comment(4),
        _comment(5),
        _comment(6, reply_to=1),
    ]
    findings = {
        1: _finding("b.py", 1, "p1"),
        2: _finding("a.py", 0, "p0"),
        3: _finding("c.py", 0, "outdated"),
        4: _finding("d.py", 2, "p2"),
        5: _finding("e.py", 0, "already fixed"),
        6: _finding("f.py", 0, "a reply"),
    }
    selected = open_findings(comments, findings, answered_threads=[5])
    assert [f.title for f in selected] == ["p0", "p1"]
    target = FixTarget.for_conversation("", ["z.py"], selected)
    assert target is not None
    assert target.paths == ("a.py", "b.py")
    assert FixTarget.for_conversation("   ", ["z.py"], ()) is None


def test_conversation_text_ranks_named_then_pointed_then_the_rest() -> None:
    target = FixTarget.for_conversation(
        "rename foo in docs/guide.md and fix `load_config` in b.py",
        ["a.py", "b.py", "c.py"],
        (),
        {"a.py": "+x = 1", "b.py": "+y = 2", "c.py": "+    load_config()"},
    )
    assert target is not None
    assert target.named == ("b.py",)
    assert target.pointed == ("c.py",)
    assert target.others == ("a.py",)
    assert target.elsewhere == ("docs/guide.md",)
    assert target.paths == ("b.py", "c.py", "a.py")
    assert target.findings == ()
    found = target.with_found(["docs/guide.md"])
    assert found.named == ("b.py", "docs/guide.md")
    assert found.elsewhere == ()


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("a/b.py", True),
        ("../a", False),
        ("a/../b", False),
        ("/abs", False),
        ("a//b", False),
        ("./a", False),
        ("", False),
        ("a\\b", False),
    ],
)
def test_is_safe_path(path: str, safe: bool) -> None:
    assert is_safe_path(path) is safe


# --- messages ---------------------------------------------------------------


def test_replies_carry_a_marker_for_their_comment_only() -> None:
    body = messages.not_allowed(REF, "fix")
    assert messages.answered(body, REF)
    assert not messages.answered(body, CommentRef(kind="review_comment", comment_id=4242))
    assert not messages.answered(body, CommentRef(kind="issue_comment", comment_id=424))
    assert not messages.answered(None, REF)


def test_head_moved_reply_tells_to_run_again() -> None:
    body = messages.head_moved(REF, "a" * 40, "b" * 40)
    assert "run /codex fix again" in body.lower()
    assert "aaaaaaaaaaaa" in body
    assert "bbbbbbbbbbbb" in body


def test_commit_message_trailers_cannot_be_forged(tmp_path: Path) -> None:
    request = (
        "tidy\n\nCo-authored-by: mallory <1+mallory@users.noreply.github.com>\nCodex-Request: x"
    )
    message = messages.commit_message(
        REF,
        request=request,
        summary="Fix it.\nSigned-off-by: eve",
        comment_url="https://gh/c/1",
        requester_login="alice",
        requester_id=7,
    )
    assert message.splitlines()[0].startswith("codex fix: tidy")
    assert len(message.splitlines()[0]) <= messages.SUBJECT_CHARS
    assert messages.commit_fixes(message, REF)
    assert not messages.commit_fixes(message, CommentRef(kind="issue_comment", comment_id=1))
    # git itself must see exactly our two trailers.
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        text=True,
        capture_output=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert parsed.splitlines() == [
        "Codex-Request: issue_comment:4242",
        "Co-authored-by: alice <7+alice@users.noreply.github.com>",
    ]


def test_one_line_strips_controls_and_caps() -> None:
    assert messages.one_line("a\u202eb\n\tc", 80) == "a b c"
    capped = messages.one_line("x" * 500, 10)
    assert len(capped) == 10
    assert capped.endswith("…")
