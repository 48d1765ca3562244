"""File modes from the head tree, the ``/codex review`` reply, and the review job's reply fields."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from codex_common.jobs import JobError, ReviewJob
from workers.commands import messages
from workers.commands.messages import CommentRef
from workers.commands.modes import file_modes, special_kind
from workers.commands.review import review_reply_text
from workers.github.models import TreeEntry

TREES = {
    "c0": (
        TreeEntry("run.sh", "100755", "blob", "b1"),
        TreeEntry("link.py", "120000", "blob", "b2"),
        TreeEntry("vendor", "160000", "commit", "s1"),
        TreeEntry("src", "040000", "tree", "t1"),
    ),
    "t1": (
        TreeEntry("app.py", "100644", "blob", "b3"),
        TreeEntry("pkg", "040000", "tree", "t2"),
    ),
    "t2": (TreeEntry("tool", "100755", "blob", "b4"),),
}


def test_modes_walk_one_tree_per_directory() -> None:
    read: list[str] = []

    def get_tree(sha: str) -> tuple[TreeEntry, ...]:
        read.append(sha)
        return TREES[sha]

    paths = ["run.sh", "link.py", "vendor", "src/app.py", "src/pkg/tool", "src/gone.py", "run.sh/x"]
    assert file_modes(get_tree, "c0", paths) == {
        "run.sh": "100755",
        "link.py": "120000",
        "vendor": "160000",
        "src/app.py": "100644",
        "src/pkg/tool": "100755",
        "src/gone.py": None,
        "run.sh/x": None,
    }
    assert read == ["c0", "t1", "t2"]


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("120000", "a symlink"), ("160000", "a submodule"), ("100755", None), (None, None)],
)
def test_only_symlinks_and_submodules_are_special(mode: str | None, kind: str | None) -> None:
    assert special_kind(mode) == kind


def test_the_special_file_reply_names_each_path() -> None:
    ref = CommentRef(kind="issue_comment", comment_id=7)
    body = messages.special_refused(ref, (("link.py", "a symlink"),))
    assert "`link.py` is a symlink" in body
    assert messages.answered(body, ref)


@dataclass(frozen=True)
class _Result:
    status: str
    reason: str = "the PR is closed"
    head_sha: str = "abcdef0123456789"
    inline: int = 0
    in_body: int = 0


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (
            _Result("posted", inline=2, in_body=1),
            "Reviewed `abcdef0`: 3 new finding(s) in the review above.",
        ),
        (_Result("posted"), "Reviewed `abcdef0`: nothing new to report."),
        (_Result("quiet"), "Reviewed `abcdef0`: nothing new to report."),
        (_Result("skipped"), "No review posted for `abcdef0`: the PR is closed"),
    ],
)
def test_review_reply_says_what_the_review_did(result: _Result, text: str) -> None:
    assert review_reply_text(result) == text


BASE = {
    "delivery_id": "d",
    "installation_id": 1,
    "repository": "o/r",
    "pr_number": 2,
    "head_sha": "a" * 40,
    "trigger": "command",
}


def test_a_review_job_from_before_the_reply_fields_still_decodes() -> None:
    job = ReviewJob.from_dict(BASE)
    assert job.reply_comment_id is None
    assert job.reply_comment_kind is None
    assert job.key == f"review:o/r#2@{'a' * 40}"


def test_a_requested_review_has_a_key_of_its_own_and_round_trips() -> None:
    job = ReviewJob.from_dict(
        {**BASE, "reply_comment_id": 9, "reply_comment_kind": "review_comment"}
    )
    assert job.key == f"review:o/r#2@{'a' * 40}:review_comment:9"
    assert ReviewJob.from_dict(job.to_dict()) == job


@pytest.mark.parametrize(
    "extra",
    [
        {"reply_comment_id": 9},
        {"reply_comment_kind": "issue_comment"},
        {"reply_comment_id": 9, "reply_comment_kind": "commit_comment"},
    ],
)
def test_reply_fields_come_together_and_valid(extra: dict[str, object]) -> None:
    with pytest.raises(JobError):
        ReviewJob.from_dict({**BASE, **extra})
