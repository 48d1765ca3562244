"""``/codex fix`` on the right file, hostile names kept in data blocks, outsiders limited,
answered comments never run again: the real clients against the GitHub and model emulators."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from codex_common.jobs import CommentKind
from codex_common.logs import configure_logging
from tests.e2e.fix_helpers import (
    EDIT,
    FIXED,
    INJECTION,
    LARGE_BRANCH,
    LARGE_FIXED,
    LARGE_NAMED,
    LARGE_REQUEST,
    REPO,
    SOURCE,
    FixWorld,
    answer_when_shown,
    fix_answer,
    fix_model,
    fix_seed,
    fix_user_comment,
    large_fix_edit,
    large_pr_files,
    outside_data_blocks,
    outsider_gate,
    run_command_job,
    run_fix_comment,
    seed_large_pr,
    shown_whole,
    texts_of,
)
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, text
from workers.commands.outsiders import RedisOutsiderGate, outsider_key
from workers.commands.selection import MAX_FILE_BYTES
from workers.github.models import DraftComment
from workers.model.client import ModelClient
from workers.redis_server import RedisServer

BOT = "codex-review[bot]"


@dataclass
class Harness:
    world: FixWorld
    model: ModelClient
    outsiders: RedisOutsiderGate
    openai: ResponsesEmulator

    @property
    def gh(self) -> GitHubEmulator:
        return self.world.gh

    def fix(self, login: str, body: str, number: int | None = None) -> tuple[str, int]:
        number = number or self.world.pr_number
        outcome, job = run_fix_comment(self.world, self.model, self.outsiders, login, body, number)
        return outcome, job.comment_id

    def bot_replies(self, number: int | None = None) -> list[str]:
        number = number or self.world.pr_number
        return [
            c["body"] for c in self.gh.issue_comments(REPO, number) if c["user"]["type"] == "Bot"
        ]

    def prompt(self) -> str:
        return "\n".join(texts_of(self.openai.requests[-1].body["input"]))


@pytest.fixture
def harness(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
    model_prefix: str,
) -> Iterator[Harness]:
    world = fix_seed(github_emulator)
    model = fix_model(openai_emulator.url, redis_server.url, model_prefix)
    outsiders = outsider_gate(redis_server.url)
    yield Harness(world, model, outsiders, openai_emulator)
    model.close()
    outsiders.redis.close()


def _git(gh: GitHubEmulator, *args: str) -> str:
    return gh.state.repos[REPO].git.git(*args).decode()


# --- targeting ---------------------------------------------------------------------------------


def test_a_fix_naming_a_large_file_deep_in_a_110_file_pr_edits_that_file(harness: Harness):
    gh = harness.gh
    pr = seed_large_pr(harness.world)
    content = str(large_pr_files("1.1")[LARGE_NAMED])
    assert pr.files == 110
    assert 38_000 < len(content) < MAX_FILE_BYTES
    client = harness.world.app.installation_client(harness.world.installation_id, REPO)
    listed = [file.filename for file in client.list_pull_files(pr.number)]
    assert listed.index(LARGE_NAMED) >= 100  # deep in the list, after the changelog
    assert listed.index("CHANGES.rst") == 0
    harness.openai.add(answer_when_shown(LARGE_NAMED, content, large_fix_edit()))
    before = len(gh.requests)

    outcome, cid = harness.fix("alice", LARGE_REQUEST, pr.number)

    assert outcome == "pushed"
    # One commit, on the pinned head, changing the named file only, with the model's edit.
    tip = gh.branch_sha(REPO, LARGE_BRANCH)
    assert tip is not None
    assert _git(gh, "rev-parse", f"{tip}^").strip() == pr.head_sha
    assert _git(gh, "diff", "--name-only", pr.head_sha, tip).split() == [LARGE_NAMED]
    assert _git(gh, "show", f"{tip}:{LARGE_NAMED}") == content.replace(
        large_fix_edit()["quote"] + "\n", LARGE_FIXED
    )
    # The prompt shows the named file first and whole.
    prompt = harness.prompt()
    shown = re.findall(r"<<<DATA file (\S+) [0-9a-f]{16}>>>", prompt)
    assert shown[0] == LARGE_NAMED
    assert shown_whole(prompt, LARGE_NAMED, content)
    # Every other file is either shown or listed with the reason it is not.
    assert "docs/logo.png: not shown, do not edit it: it is a binary file" in prompt
    assert re.search(
        r"CHANGES\.rst: not shown, do not edit it: it was left out for the budget", prompt
    )
    assert "too large" not in prompt
    assert "does not exist" not in prompt
    # Contents were read for the shown files only.
    reads = [r.path for r in gh.requests[before:] if "/contents/" in r.path]
    assert sorted(p.split("/contents/", 1)[1] for p in reads) == sorted(shown)
    (reply,) = harness.bot_replies(pr.number)
    assert reply.startswith(f"Pushed [{tip[:12]}]")
    assert f"changing `{LARGE_NAMED}`" in reply
    assert "I could not look at" not in reply
    assert gh.reactions("issue_comment", cid) == ["eyes", "rocket"]


BIG = "".join(f"LINE_{j} = {j}  # padding to make the file large\n" for j in range(1_600))


@pytest.mark.parametrize(
    ("files", "request_text", "why"),
    [
        (
            {"big.py": BIG},
            "/codex fix the constant in big.py",
            f"`big.py` is too large to show: {len(BIG):,} bytes, over the "
            f"{MAX_FILE_BYTES:,}-byte limit for one file.",
        ),
        (
            {"img/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary"},
            "/codex fix the colours in img/logo.png",
            "`img/logo.png` is a binary file.",
        ),
        (
            {"README.md": None},
            "/codex fix the typo in README.md",
            "`README.md` does not exist at the PR head.",
        ),
    ],
    ids=["too_large", "binary", "deleted"],
)
def test_a_named_file_that_cannot_be_shown_gets_the_exact_reason_and_no_model_call(
    harness: Harness, files: dict[str, str | bytes | None], request_text: str, why: str
):
    gh = harness.gh
    head = gh.commit(REPO, "feature", files, "More")
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")

    outcome, cid = harness.fix("alice", request_text)

    assert outcome == "no_change"
    assert harness.openai.requests == []
    assert gh.branch_sha(REPO, "feature") == head
    (reply,) = harness.bot_replies()
    assert reply.startswith("I made no change: I could not show the file you named to the model.")
    assert why in reply
    assert gh.reactions("issue_comment", cid) == ["eyes", "confused"]
    assert not [r for r in gh.requests if "/contents/" in r.path and "geometry" not in r.path]


def test_a_named_file_outside_the_pr_found_binary_when_read_is_called_binary(harness: Harness):
    gh = harness.gh
    gh.commit(REPO, "main", {"assets/blob.dat": b"\x00\x01\x02 not text"}, "Asset")
    head = gh.commit(REPO, "other", {"geometry.py": SOURCE}, "Area")
    number = gh.create_pull(REPO, "other", title="Area", author="bob")
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")

    outcome, _ = harness.fix("alice", "/codex fix the header of assets/blob.dat", number)

    assert outcome == "no_change"
    assert harness.openai.requests == []
    assert gh.branch_sha(REPO, "other") == head
    (reply,) = harness.bot_replies(number)
    assert "`assets/blob.dat` is a binary file." in reply
    # It was read (nothing else could tell), once.
    reads = [r.path for r in gh.requests if r.path.endswith("/contents/assets/blob.dat")]
    assert len(reads) == 1


def test_a_named_file_in_neither_the_pr_nor_the_repository_is_named_in_the_reply(
    harness: Harness,
):
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")

    outcome, _ = harness.fix("alice", "/codex fix area(); the spec is in docs/area.md")

    assert outcome == "pushed"
    assert (
        _git(harness.gh, "show", f"{harness.gh.branch_sha(REPO, 'feature')}:geometry.py") == FIXED
    )
    (reply,) = harness.bot_replies()
    assert (
        "I could not look at every file you named: `docs/area.md` is not in this PR and not "
        "in the repository." in reply
    )
    assert "docs/area.md: not shown, do not edit it: it is not in this PR" in harness.prompt()


def test_a_file_the_request_names_outside_the_pr_is_shown_when_it_exists(harness: Harness):
    harness.gh.commit(REPO, "feature", {"docs/area.md": "Area is width times height.\n"}, "Doc")
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")

    outcome, _ = harness.fix("alice", "/codex fix geometry.py as docs/area.md says")

    # docs/area.md is on the branch, so it is in the PR here; both named, both editable.
    assert outcome == "pushed"
    prompt = harness.prompt()
    assert re.findall(r"<<<DATA file (\S+) ", prompt) == ["geometry.py", "docs/area.md"]


# --- hostile names -----------------------------------------------------------------------------


def test_hostile_file_and_branch_names_stay_in_data_blocks_and_widen_no_commit(harness: Harness):
    gh = harness.gh
    fixture = json.loads((INJECTION / "fix_names.json").read_text())
    head = gh.commit(REPO, fixture["branch"], {"geometry.py": SOURCE, **fixture["files"]}, "Add")
    number = gh.create_pull(REPO, fixture["branch"], title="Area", author="bob")
    harness.openai.add(text(json.dumps(fixture["answer"])), match="Files you may edit", times=2)

    # Named: only geometry.py may change; the model's extra edit rejects the whole fix.
    outcome, _ = harness.fix("alice", "/codex fix geometry.py: area() multiplies", number)
    assert outcome == "no_change"
    assert gh.branch_sha(REPO, fixture["branch"]) == head
    assert "outside the files this fix may change" in harness.bot_replies(number)[-1]
    # Pointed at by the request's words (area()): the same.
    outcome, _ = harness.fix("alice", "/codex fix area() so it multiplies", number)
    assert outcome == "no_change"
    assert gh.branch_sha(REPO, fixture["branch"]) == head

    for request in harness.openai.requests:
        prompt = "\n".join(texts_of(request.body["input"]))
        instructions = str(request.body["instructions"])
        for sentinel in fixture["sentinels"]:
            assert sentinel in prompt, sentinel
            assert sentinel not in instructions, sentinel
            assert outside_data_blocks(prompt, sentinel) == [], sentinel
        for name in fixture["files"]:
            assert name not in prompt  # shown escaped only
        assert "\u202e" not in prompt
        assert len(re.findall(r"^<<<END [0-9a-f]{16}>>>$", prompt, re.M)) == len(
            re.findall(r"^<<<DATA ", prompt, re.M)
        )

    # The model doing only what was asked: one commit, on the requested file only.
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")
    outcome, _ = harness.fix("alice", "/codex fix geometry.py: area() multiplies", number)
    assert outcome == "pushed"
    tip = gh.branch_sha(REPO, fixture["branch"])
    assert tip is not None
    assert _git(gh, "diff", "--name-only", head, tip).split() == ["geometry.py"]


# --- outsiders ---------------------------------------------------------------------------------


def test_an_outsider_gets_one_answer_per_pr_per_hour_then_silence(
    harness: Harness, capsys: pytest.CaptureFixture[str]
):
    # Log lines to the captured stdout, whatever an earlier test configured.
    configure_logging("INFO", "console", stream=sys.stdout)
    gh, world = harness.gh, harness.world
    outcome, first = harness.fix("mallory", "/codex fix everything")
    assert outcome == "refused"
    cid = fix_user_comment(gh, world.pr_number, "mallory", "/codex help")
    outcome, _ = run_command_job(
        world, harness.model, harness.outsiders, "mallory", world.pr_number, cid, command="help"
    )
    assert outcome == "silenced"
    outcome, _ = harness.fix("eve", "/codex fix")  # another person: their own answer
    assert outcome == "refused"
    outcome, fourth = harness.fix("mallory", "/codex fix it now")
    assert outcome == "silenced"

    assert gh.reactions("issue_comment", first) == ["eyes", "confused"]
    assert gh.reactions("issue_comment", cid) == []
    logged = capsys.readouterr().out
    assert logged.count("outsider command left unanswered") == 2
    assert "login=mallory" in logged
    assert gh.reactions("issue_comment", fourth) == []
    assert len(harness.bot_replies()) == 2
    key = outsider_key(REPO, world.pr_number, "Mallory", harness.outsiders.prefix)
    assert 0 < harness.outsiders.redis.ttl(key) <= 3600
    # On another PR the same person gets one answer there.
    other = gh.create_pull(REPO, "feature", title="Again", author="bob")
    outcome, _ = harness.fix("mallory", "/codex fix", other)
    assert outcome == "refused"
    # The window over (the key expired), one answer again.
    harness.outsiders.redis.delete(key)
    outcome, _ = harness.fix("mallory", "/codex fix")
    assert outcome == "refused"
    assert harness.openai.requests == []


def test_a_maintainer_is_never_held_back_by_outsiders(harness: Harness):
    for _ in range(3):
        harness.fix("mallory", "/codex fix")
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")
    outcome, _ = harness.fix("alice", "/codex fix area() multiplies")
    assert outcome == "pushed"
    outcome, _ = harness.fix("alice", "/codex fix area() again")
    assert outcome != "silenced"


def test_without_redis_an_outsider_gets_no_answer(harness: Harness):
    dead = outsider_gate("redis://127.0.0.1:1/0")
    outcome, job = run_fix_comment(
        harness.world, harness.model, dead, "mallory", "/codex fix", harness.world.pr_number
    )
    dead.redis.close()
    assert outcome == "silenced"
    assert harness.gh.reactions("issue_comment", job.comment_id) == []


# --- answered comments -------------------------------------------------------------------------


def _bot_thread_root(harness: Harness) -> int:
    """The first comment of a review thread the App started on geometry.py."""
    world = harness.world
    client = world.app.installation_client(world.installation_id, REPO)
    client.create_review(
        world.pr_number, world.head_sha, "Review.", [DraftComment("geometry.py", 2, "Sum?")]
    )
    (root,) = harness.gh.review_comments(REPO, world.pr_number)
    return int(root["id"])


@pytest.mark.parametrize("kind", ["issue_comment", "review_comment"])
@pytest.mark.parametrize("evidence", ["rocket", "confused", "reply_there", "reply_elsewhere"])
def test_an_answered_command_is_never_acted_on_again(
    harness: Harness, kind: CommentKind, evidence: str
):
    world = harness.world
    client = world.app.installation_client(world.installation_id, REPO)
    root = _bot_thread_root(harness)
    if kind == "issue_comment":
        cid = fix_user_comment(harness.gh, world.pr_number, "alice", "/codex fix multiply")
    else:
        cid = harness.gh.add_review_reply(REPO, root, "alice", "/codex fix multiply")
    answer = f"Done.\n\n<!-- codex-command:{kind}:{cid} -->"
    in_thread = (evidence == "reply_there") == (kind == "review_comment")
    if evidence in ("rocket", "confused"):
        client.add_reaction(kind, cid, evidence)
    elif in_thread:
        client.reply_to_review_comment(world.pr_number, root, answer)
    else:
        client.create_issue_comment(world.pr_number, answer)
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")
    # The same marker written by someone else is no answer (this one is the App's).
    harness.gh.add_issue_comment(REPO, world.pr_number, "alice", answer)

    outcome, _ = run_command_job(
        world, harness.model, harness.outsiders, "alice", world.pr_number, cid, kind
    )

    assert outcome == "duplicate"
    assert harness.gh.branch_sha(REPO, "feature") == world.head_sha
    assert harness.openai.requests == []


def test_eyes_alone_is_a_run_that_did_not_finish_and_it_runs(harness: Harness):
    world = harness.world
    root = _bot_thread_root(harness)
    cid = harness.gh.add_review_reply(REPO, root, "alice", "/codex fix multiply")
    client = world.app.installation_client(world.installation_id, REPO)
    client.add_reaction("review_comment", cid, "eyes")
    # A marker written by someone else is not the App's answer.
    harness.gh.add_issue_comment(
        REPO, world.pr_number, "alice", f"<!-- codex-command:review_comment:{cid} -->"
    )
    harness.openai.add(text(fix_answer([EDIT])), match="Files you may edit")
    outcome, _ = run_command_job(
        world, harness.model, harness.outsiders, "alice", world.pr_number, cid, "review_comment"
    )
    assert outcome == "pushed"
    # Replayed now, it is answered.
    again, _ = run_command_job(
        world, harness.model, harness.outsiders, "alice", world.pr_number, cid, "review_comment"
    )
    assert again == "duplicate"
    assert len(harness.openai.requests) == 1
