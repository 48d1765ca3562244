"""``/codex`` commands end to end: signed comment deliveries into the real receiver, a
real Celery worker process running ``workers.commands.wiring.run_command`` in production wiring,
a real Redis, and the GitHub and Responses emulators.

One deployment serves the whole module (process start-up is the slow part); each test
works on a repository of its own and resets the model emulator's script.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from codex_common.slash import parse_command
from tests.e2e.fix_helpers import (
    EDIT,
    FIXED,
    SOURCE,
    injection_answer,
    injection_text,
    issue_comment_event,
    outside_data_blocks,
    review_comment_event,
    texts_of,
)
from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings, text
from tests.review.conftest import finding
from workers.redis_server import RedisServer

pytestmark = pytest.mark.e2e

#: Long enough to look like a real key to the secret filters.
MODEL_KEY = "sk-e2e-commands-0123456789abcdefghij"
BOT = "codex-review[bot]"
BASE_FILES = {"README.md": "widget\n", ".github/workflows/ci.yml": "on: push\n"}
REPOS = ("talk", "widget", "calc", "inject")
FIX_PROMPT = "Files you may edit"
REVIEW_PROMPT = "reviewing one part of a pull request"


@dataclass
class KeyedStack(ReviewStack):
    """The review deployment, with the worker holding ``MODEL_KEY`` and fast write pacing."""

    def env(self) -> dict[str, str]:
        # The emulator has no secondary rate limit to respect unless told to.
        return {**super().env(), "OPENAI_API_KEY": MODEL_KEY, "GITHUB_WRITE_INTERVAL": "0.05"}


@dataclass
class World:
    stack: KeyedStack
    installation: int

    @property
    def gh(self) -> GitHubEmulator:
        return self.stack.github

    @property
    def model(self) -> ResponsesEmulator:
        return self.stack.openai

    def pull(self, name: str, files: dict[str, str], *, body: str = "") -> tuple[str, int, str]:
        repo = f"acme/{name}"
        self.gh.create_repo(repo, BASE_FILES)
        head = self.gh.commit(repo, "feature", files, "Change")
        number = self.gh.create_pull(repo, "feature", title="A change", body=body, author="bob")
        self.gh.add_collaborator(repo, "alice", "write")
        self.gh.add_collaborator(repo, "mallory", "read")
        return repo, number, head

    def comment(self, repo: str, number: int, login: str, body: str) -> tuple[int, bytes]:
        cid = self.gh.add_issue_comment(repo, number, login, body)
        return cid, issue_comment_event(self.gh, repo, self.installation, cid)

    def deliver(self, event: str, body: bytes, delivery: str | None = None) -> str:
        """What the receiver did: ``accepted``, ``duplicate`` or ``ignored``."""
        response = self.stack.deliver(event, body, delivery)
        assert response.status_code in (200, 202), response.text
        return str(response.json()["status"])

    def bot_comments(self, repo: str, number: int) -> list[str]:
        return [
            c["body"] for c in self.gh.issue_comments(repo, number) if c["user"]["login"] == BOT
        ]

    def wait(self, predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
        wait_for(predicate, timeout, what, self.stack)

    def job_done(self, repo: str, number: int, kind: str, cid: int) -> bool:
        key = f"codex:job:command:{repo}#{number}:{kind}:{cid}:done"
        return bool(self.stack.redis().exists(key))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("commands-e2e")
    github = GitHubEmulator(root / "github").start()
    model = ResponsesEmulator(keys=(MODEL_KEY,)).serve()
    server = RedisServer.start(root / "redis", durable=False)
    app = github.create_app("codex-review")
    installation = github.create_installation(app, "acme", list(REPOS))
    stack = KeyedStack(root=root, github=github, openai=model, app=app, redis_server=server)
    try:
        stack.start_web()
        stack.start_worker()
        yield World(stack, installation)
    finally:
        stack.stop()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()
        model.stop()
        github.stop()
    assert github.schema_violations == []


@pytest.fixture
def world(deployment: World) -> Iterator[World]:
    deployment.model.reset()
    yield deployment
    deployment.model.reset()


def _git(gh: GitHubEmulator, repo: str, *args: str) -> str:
    return gh.state.repos[repo].git.git(*args).decode()


def test_help_unknown_quoted_and_edited_comments(world: World) -> None:
    repo, number, _ = world.pull("talk", {"geometry.py": SOURCE})

    help_id, body = world.comment(repo, number, "mallory", "Thanks!\n/codex help")
    assert world.deliver("issue_comment", body) == "accepted"
    world.wait(lambda: world.bot_comments(repo, number), "the help reply")
    (reply,) = world.bot_comments(repo, number)
    assert "### Codex review: commands" in reply
    assert "`/codex fix`" in reply
    assert world.gh.reactions("issue_comment", help_id) == ["eyes"]

    unknown_id, body = world.comment(repo, number, "alice", "/codex frobnicate now")
    assert world.deliver("issue_comment", body) == "accepted"
    world.wait(lambda: len(world.bot_comments(repo, number)) == 2, "the unknown-command reply")
    assert "I do not know `/codex frobnicate`" in world.bot_comments(repo, number)[1]
    assert "### Codex review: commands" in world.bot_comments(repo, number)[1]

    # Quoted lines and code blocks never trigger; edits do not re-trigger.
    for text_body in ("> /codex fix\nlike they said", "```\n/codex fix\n```"):
        _, body = world.comment(repo, number, "alice", text_body)
        assert world.deliver("issue_comment", body) == "ignored"
    edited = issue_comment_event(world.gh, repo, world.installation, unknown_id, action="edited")
    assert world.deliver("issue_comment", edited) == "ignored"

    # The bot's own replies, delivered back, trigger nothing either.
    for comment in world.gh.issue_comments(repo, number):
        if comment["user"]["login"] == BOT:
            echo = issue_comment_event(world.gh, repo, world.installation, comment["id"])
            assert world.deliver("issue_comment", echo) == "ignored"
    world.wait(lambda: world.job_done(repo, number, "issue_comment", unknown_id), "the second job")
    assert len(world.bot_comments(repo, number)) == 2
    assert world.model.requests == []


def test_fix_in_the_conversation_pushes_one_commit_once(world: World) -> None:
    repo, number, head = world.pull("widget", {"geometry.py": SOURCE})
    world.model.add(text(json.dumps({"summary": "Multiply.", "refusal": None, "edits": [EDIT]})))

    cid, body = world.comment(repo, number, "alice", "/codex fix use multiplication in area()")
    delivery = str(uuid.uuid4())
    assert world.deliver("issue_comment", body, delivery) == "accepted"
    world.wait(lambda: world.bot_comments(repo, number), "the fix reply")
    new_head = world.gh.branch_sha(repo, "feature")
    assert new_head is not None
    assert _git(world.gh, repo, "rev-parse", f"{new_head}^").strip() == head
    assert _git(world.gh, repo, "show", f"{new_head}:geometry.py") == FIXED
    assert _git(world.gh, repo, "diff", "--name-only", head, new_head).split() == ["geometry.py"]
    (reply,) = world.bot_comments(repo, number)
    assert f"/{repo}/pull/{number}/commits/{new_head}" in reply
    world.wait(lambda: world.gh.reactions("issue_comment", cid) == ["eyes", "rocket"], "the rocket")

    # The same delivery again (receiver), then a new delivery of the same comment (worker).
    repeats = world.stack.workers[0].text().count("job already done")
    assert world.deliver("issue_comment", body, delivery) == "duplicate"
    assert world.deliver("issue_comment", body) == "duplicate"  # same bytes: a replay
    assert world.deliver("issue_comment", body + b" ") == "accepted"  # new bytes: the worker
    world.wait(
        lambda: world.stack.workers[0].text().count("job already done") > repeats, "the repeat"
    )
    assert world.gh.branch_sha(repo, "feature") == new_head
    assert len(world.bot_comments(repo, number)) == 1
    assert len(world.model.requests) == 1

    # Someone without write access is refused, and nothing reaches the model.
    refused_id, body = world.comment(repo, number, "mallory", "/codex fix")
    assert world.deliver("issue_comment", body) == "accepted"
    world.wait(
        lambda: world.gh.reactions("issue_comment", refused_id) == ["eyes", "confused"],
        "the refusal",
    )
    assert "can only be run by people with write access" in world.bot_comments(repo, number)[1]
    assert world.gh.branch_sha(repo, "feature") == new_head
    assert len(world.model.requests) == 1


CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b  # product\n"
CALC_QUOTE = "    return a + b  # product"


def test_review_then_fix_in_the_thread_of_a_finding(world: World) -> None:
    repo, number, head = world.pull("calc", {"calc.py": CALC})
    bug = finding("calc.py", 6, CALC_QUOTE, "mul adds instead of multiplying", priority=1)
    world.model.add(findings([bug]), match=REVIEW_PROMPT, times=1)
    opened = pull_request_payload(
        "opened", repository=repo, installation_id=world.installation, number=number, head_sha=head
    )
    assert world.deliver("pull_request", opened) == "accepted"
    world.wait(lambda: world.gh.review_comments(repo, number), "the first review")
    (root,) = world.gh.review_comments(repo, number)

    # /codex review: a full re-review of the same head (model results for unchanged
    # segments may come from the review cache), posted even though the head was reviewed.
    review_id, body = world.comment(repo, number, "alice", "/codex review")
    assert world.deliver("issue_comment", body) == "accepted"
    world.wait(lambda: len(world.gh.reviews(repo, number)) == 2, "the requested review")
    second = world.gh.reviews(repo, number)[1]
    assert second["commit_id"] == head
    assert second["state"] == "COMMENTED"
    assert "requested with `/codex review`" in second["body"]
    assert "1 already reported earlier was not repeated" in second["body"]
    assert len(world.gh.review_comments(repo, number)) == 1
    world.wait(
        lambda: world.gh.reactions("issue_comment", review_id) == ["eyes", "rocket"],
        "the review command's rocket",
    )
    assert f"Reviewed `{head[:7]}`: nothing new to report." in world.bot_comments(repo, number)[0]

    # /codex fix replying to the bot's finding: the finding is what gets fixed.
    fix = {
        "path": "calc.py",
        "line_hint": 6,
        "quote": CALC_QUOTE,
        "replacement": "    return a * b  # product",
    }
    world.model.add(
        text(json.dumps({"summary": "Multiply in mul.", "refusal": None, "edits": [fix]})),
        match=FIX_PROMPT,
    )
    reply_id = world.gh.add_review_reply(repo, root["id"], "alice", "/codex fix")
    event = review_comment_event(world.gh, repo, world.installation, reply_id)
    assert world.deliver("pull_request_review_comment", event) == "accepted"
    world.wait(
        lambda: world.gh.reactions("review_comment", reply_id) == ["eyes", "rocket"],
        "the fix in the thread",
    )
    new_head = world.gh.branch_sha(repo, "feature")
    assert new_head is not None
    assert new_head != head
    assert _git(world.gh, repo, "rev-parse", f"{new_head}^").strip() == head
    assert _git(world.gh, repo, "show", f"{new_head}:calc.py") == CALC.replace(
        "a + b  # product", "a * b  # product"
    )
    answers = [
        c
        for c in world.gh.review_comments(repo, number)
        if c["user"]["login"] == BOT and c.get("in_reply_to_id") == root["id"]
    ]
    assert len(answers) == 1
    assert new_head in answers[0]["body"]
    prompt = "\n".join(texts_of(world.model.requests[-1].body["input"]))
    assert "mul adds instead of multiplying" in prompt
    # The thread's file, line and diff hunk (as GitHub stores it on the comment), in a block.
    assert re.search(r"<<<DATA thread [0-9a-f]{16}>>>\nFile: calc.py\nAt: line 6 of", prompt)
    assert "+def mul(a, b):" in prompt


def _posted_texts(world: World, repo: str, number: int) -> list[str]:
    gh = world.gh
    out = [c["body"] for c in gh.issue_comments(repo, number)]
    out += [c["body"] for c in gh.review_comments(repo, number)]
    out += [r["body"] for r in gh.reviews(repo, number)]
    with gh.state.lock:
        out += [json.dumps(run["output"]) for run in gh.state.check_runs]
    log = _git(gh, repo, "log", "--all", "-p", "--format=%H%n%B")
    return [*out, log]


def test_injection_fixtures_take_no_effect(world: World) -> None:
    repo, number, head = world.pull(
        "inject", {"totals.py": injection_text("totals.py")}, body=injection_text("pr_body.md")
    )
    obeying = json.loads(injection_answer("model_review.json", MODEL_KEY))
    world.model.add(findings(obeying["findings"]), match=REVIEW_PROMPT)
    opened = pull_request_payload(
        "opened", repository=repo, installation_id=world.installation, number=number, head_sha=head
    )
    assert world.deliver("pull_request", opened) == "accepted"
    world.wait(lambda: world.gh.reviews(repo, number), "the review")

    # A comment asking for the same, by someone without write access.
    asked_id, body = world.comment(repo, number, "mallory", injection_text("comment.md"))
    assert world.deliver("issue_comment", body) == "accepted"
    world.wait(
        lambda: world.gh.reactions("issue_comment", asked_id) == ["eyes", "confused"],
        "the refusal",
    )

    # A maintainer asks for a fix; the model "obeys" the injection three ways.
    outcomes: list[tuple[str, Callable[[list[str]], bool]]] = [
        ("workflow", lambda replies: "`.github/workflows/ci.yml`" in replies[-1]),
        ("key_in_code", lambda replies: "could not produce a fix" in replies[-1]),
        ("leaky_summary", lambda replies: "Pushed [" in replies[-1]),
    ]
    for part, replied in outcomes:
        world.model.add(
            text(injection_answer("model_fix.json", MODEL_KEY, part)), match=FIX_PROMPT, times=1
        )
        cid, body = world.comment(repo, number, "alice", "/codex fix the off-by-one in total()")
        assert world.deliver("issue_comment", body) == "accepted"
        world.wait(
            lambda done=cid: world.job_done(repo, number, "issue_comment", done), f"fix {part}"
        )
        assert replied(world.bot_comments(repo, number)), part

    # No approval, no workflow change, no key anywhere, no command in the bot's output.
    assert all(r["state"] == "COMMENTED" for r in world.gh.reviews(repo, number))
    assert not [
        r
        for r in world.gh.requests
        if isinstance(r.body, dict) and r.body.get("event") == "APPROVE"
    ]
    tip = world.gh.branch_sha(repo, "feature")
    assert _git(world.gh, repo, "diff", "--name-only", head, str(tip)).split() == ["totals.py"]
    posted = _posted_texts(world, repo, number)
    for secret in (MODEL_KEY, MODEL_KEY[3:], "ghs_", "PRIVATE KEY"):
        assert not [t for t in posted if secret in t], secret
    bot_texts = [
        *world.bot_comments(repo, number),
        *(c["body"] for c in world.gh.review_comments(repo, number)),
        *(r["body"] for r in world.gh.reviews(repo, number)),
    ]
    assert bot_texts
    assert all(parse_command(t) is None for t in bot_texts)
    jobs_before = len(world.model.requests)
    for comment in world.gh.issue_comments(repo, number):
        if comment["user"]["login"] == BOT:
            echo = issue_comment_event(world.gh, repo, world.installation, comment["id"])
            assert world.deliver("issue_comment", echo) == "ignored"

    # The injected text reached the model only inside delimited data blocks.
    requests = world.model.requests
    assert len(requests) == jobs_before == 4
    sentinels = ("INJECT-BODY-7Q2", "INJECT-DIFF-5K8")
    for request in requests:
        assert not any(s in str(request.body.get("instructions")) for s in sentinels)
        prompt = "\n".join(texts_of(request.body["input"]))
        assert any(s in prompt for s in sentinels)
        for sentinel in sentinels:
            assert outside_data_blocks(prompt, sentinel) == [], sentinel
    assert not any("INJECT-COMMENT-3M1" in str(r.body) for r in requests)
