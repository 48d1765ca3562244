"""Seeding for the fix end-to-end tests: a repository, a PR and a maintainer's comment.

The emulator's REST API acts as the App only, so people's comments are seeded
through its seeding API. Also: webhook payloads for comments stored in the
emulator, the injection fixtures, and a check that text sits inside the data
blocks of a prompt.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr

from codex_common.jobs import CommandJob, CommandName, CommentKind
from tests.emulators.github import GitHubEmulator
from workers.commands.dispatch import handle_command
from workers.commands.outsiders import RedisOutsiderGate
from workers.commands.wiring import build_deps
from workers.github import GitHubApp, LocalPacer
from workers.model.client import ModelClient
from workers.model.config import ModelConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WEBHOOKS = FIXTURES / "webhooks"
INJECTION = FIXTURES / "injection"
REPO = "acme/widget"
SOURCE = "def area(w, h):\n    return w + h\n\n\ndef main():\n    print(area(2, 3))\n"
FIXED = SOURCE.replace("return w + h", "return w * h")
# The model's edit that turns SOURCE into FIXED.
EDIT = {
    "path": "geometry.py",
    "line_hint": 2,
    "quote": "    return w + h",
    "replacement": "    return w * h",
}


@dataclass
class FixWorld:
    gh: GitHubEmulator
    app: GitHubApp
    installation_id: int
    pr_number: int
    head_sha: str


def fix_seed(gh: GitHubEmulator, *, body: str = "Adds area.") -> FixWorld:
    seeded = gh.create_app("codex-review")
    installation = gh.create_installation(seeded, "acme", ["widget"])
    gh.create_repo(REPO, {"README.md": "widget\n", ".github/workflows/ci.yml": "on: push\n"})
    head = gh.commit(REPO, "feature", {"geometry.py": SOURCE}, "Add area")
    number = gh.create_pull(REPO, "feature", title="Add area", body=body, author="bob")
    gh.add_collaborator(REPO, "alice", "write")
    gh.add_collaborator(REPO, "mallory", "read")
    # The emulator enforces no secondary limit here, so writes need no spacing.
    app = GitHubApp(
        seeded.id, seeded.private_key_pem, gh.base_url, pacer=LocalPacer(min_interval=0.0)
    )
    return FixWorld(gh, app, installation, number, head)


def commit_modes(
    gh: GitHubEmulator, branch: str, files: Mapping[str, tuple[str, bytes]], message: str
) -> str:
    """Commit ``path -> (git mode, content)`` on ``branch`` of ``REPO`` (from main when new).

    The emulator's seeding API writes regular files only; executables and
    symlinks go straight into its git repository.
    """
    repo = gh.state.repos[REPO]
    git = repo.git
    with gh.state.lock:
        parent = git.ref(branch) or git.ref(repo.default_branch)
        assert parent is not None
        entries = {path: (mode, git.write_blob(data)) for path, (mode, data) in files.items()}
        sha = git.commit_tree(git.build_tree(git.tree_of(parent), entries), [parent], message)
        git.set_ref(branch, sha)
    return sha


def fix_user_comment(
    gh: GitHubEmulator, number: int, login: str, body: str, kind: str = "User"
) -> int:
    """Add a conversation comment written by ``login``; its id."""
    return gh.add_issue_comment(REPO, number, login, body, user_type=kind)


# --- webhook deliveries ------------------------------------------------------------------------


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _repository(payload: dict[str, Any], repository: str, installation_id: int) -> None:
    payload["installation"]["id"] = installation_id
    payload["repository"]["full_name"] = repository
    payload["repository"]["name"] = repository.split("/")[1]


def issue_comment_event(
    gh: GitHubEmulator,
    repository: str,
    installation_id: int,
    comment_id: int,
    action: str = "created",
) -> bytes:
    """An ``issue_comment`` delivery for a comment stored in the emulator, as GitHub sends it."""
    payload: dict[str, Any] = json.loads((WEBHOOKS / "issue_comment.created.json").read_text())
    with gh.state.lock:
        comment = next(c for c in gh.state.issue_comments if c["id"] == comment_id)
        number = comment["_number"]
        payload["comment"] = _public(comment)
    payload["action"] = action
    payload["sender"] = payload["comment"]["user"]
    payload["issue"]["number"] = number
    _repository(payload, repository, installation_id)
    return json.dumps(payload).encode()


def review_comment_event(
    gh: GitHubEmulator, repository: str, installation_id: int, comment_id: int
) -> bytes:
    """A ``pull_request_review_comment`` delivery for a stored review comment."""
    payload: dict[str, Any] = json.loads(
        (WEBHOOKS / "pull_request_review_comment.created.json").read_text()
    )
    with gh.state.lock:
        comment = next(c for c in gh.state.review_comments if c["id"] == comment_id)
        number = comment["_number"]
        payload["comment"] = _public(comment)
    payload["sender"] = payload["comment"]["user"]
    pull = payload["pull_request"]
    pull["number"] = number
    pull["head"]["sha"] = payload["comment"]["commit_id"]
    pull["head"]["repo"]["full_name"] = repository
    pull["base"]["repo"]["full_name"] = repository
    _repository(payload, repository, installation_id)
    return json.dumps(payload).encode()


# --- injection fixtures ------------------------------------------------------------------------


def injection_text(name: str) -> str:
    return (INJECTION / name).read_text()


def injection_answer(name: str, key: str, part: str | None = None) -> str:
    """A model answer from ``tests/fixtures/injection``, with ``{key}`` filled in."""
    data = json.loads(injection_text(name))
    chosen = data[part] if part is not None else data
    return json.dumps(chosen).replace("{key}", key)


_BLOCKS = (
    # Fix prompts: <<<DATA name fence>>> ... <<<END fence>>>
    re.compile(r"<<<DATA [^\n]*? (?P<fence>[0-9a-f]{16})>>>\n.*?<<<END (?P=fence)>>>", re.S),
    # Review prompts: <<<DATA-tag name ... DATA-tag>>>
    re.compile(r"<<<(?P<fence>DATA-[0-9a-f]+) .*?(?P=fence)>>>", re.S),
)


def texts_of(value: object) -> list[str]:
    """Every string inside a JSON value (a request's ``input``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in texts_of(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts_of(v)]
    return []


def outside_data_blocks(text: str, needle: str) -> list[int]:
    """Offsets where ``needle`` occurs in ``text`` outside every delimited data block."""
    spans = [m.span() for regex in _BLOCKS for m in regex.finditer(text)]
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        if not any(lo <= start and start + len(needle) <= hi for lo, hi in spans):
            found.append(start)
        start = text.find(needle, start + 1)
    return found


def fix_model(openai_url: str, redis_url: str, prefix: str) -> ModelClient:
    config = ModelConfig(
        keys=(SecretStr("sk-test-0"),),
        base_url=openai_url,
        redis_prefix=prefix,
        escalation_model=None,
    )
    return ModelClient.create(config, redis.Redis.from_url(redis_url))


def fix_answer(
    edits: list[dict[str, Any]],
    summary: str = "Compute the area as a product.",
    refusal: str | None = None,
) -> str:
    return json.dumps({"summary": summary, "refusal": refusal, "edits": edits})


# --- a PR of about 110 files -------------------------------------------------------------------

LARGE_BRANCH = "big"
#: The file the maintainer names: modified by the PR, about 40k characters, listed late.
LARGE_NAMED = "src/widget/types.py"
LARGE_BUG = "        return self.low < value < self.high  # bounds are inclusive\n"
LARGE_FIXED = "        return self.low <= value <= self.high  # bounds are inclusive\n"
LARGE_REQUEST = f"/codex fix the bug in {LARGE_NAMED}: Range.contains must include both bounds"
# A PNG header and some bytes: binary to git (NUL bytes) and to GitHub.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


def _module(name: str, lines: int, seed: str) -> str:
    body = "".join(
        f"def {name}_{j}(value):\n    return value * {j} + len({seed!r})\n\n\n"
        for j in range(lines)
    )
    return f'"""{name}."""\n\n\n{body}'


def _types_module(version: str) -> str:
    """About 40,000 characters with ``Range.contains`` in the middle."""
    head = "".join(
        f'class Type{j}:\n    """Turns values of kind {j} into the canonical text form."""\n\n'
        f"    def convert(self, value):\n"
        f"        return str(value) + {version!r}\n\n\n"
        for j in range(215)
    )
    tail = "".join(
        f"def check_{j}(value):\n    return Range({j}, {j + 10}).contains(value)\n\n\n"
        for j in range(120)
    )
    middle = (
        "class Range:\n    def __init__(self, low, high):\n        self.low = low\n"
        "        self.high = high\n\n    def contains(self, value):\n" + LARGE_BUG + "\n\n"
    )
    return f'"""Types, {version}."""\n\n\n{head}{middle}{tail}'


def large_pr_files(version: str) -> dict[str, bytes | str]:
    """110 files: a changelog first, a binary logo, 104 modules, the named file late."""
    files: dict[str, bytes | str] = {
        "CHANGES.rst": "".join(
            f"- Fixed item {j} of the {version} release notes.\n" for j in range(1000)
        ),
        "docs/logo.png": PNG + version.encode(),
        "src/widget/__init__.py": f'"""Widget {version}."""\n',
        "src/widget/core.py": _module("core", 40, version),
        LARGE_NAMED: _types_module(version),
        "src/widget/utils.py": _module("utils", 30, version),
    }
    for index in range(104):
        files[f"src/widget/mod_{index:03d}.py"] = _module(f"mod{index}", 30 + index % 9, version)
    return files


@dataclass
class LargePR:
    number: int
    head_sha: str
    files: int


def seed_large_pr(world: FixWorld) -> LargePR:
    """A PR of 110 modified files on ``LARGE_BRANCH``, based on a main holding them all."""
    gh = world.gh
    gh.commit(REPO, "main", large_pr_files("1.0"), "Widget 1.0")
    new = large_pr_files("1.1")
    new[LARGE_NAMED] = str(new[LARGE_NAMED])
    head = gh.commit(REPO, LARGE_BRANCH, new, "Widget 1.1")
    number = gh.create_pull(REPO, LARGE_BRANCH, title="Release 1.1", body="Bumps.", author="bob")
    return LargePR(number, head, len(new))


def large_fix_edit() -> dict[str, Any]:
    return {
        "path": LARGE_NAMED,
        "line_hint": _types_module("1.1").splitlines().index(LARGE_BUG.rstrip("\n")) + 1,
        "quote": LARGE_BUG.rstrip("\n"),
        "replacement": LARGE_FIXED.rstrip("\n"),
    }


def shown_whole(prompt: str, path: str, content: str) -> bool:
    """Whether ``prompt`` shows ``path`` whole, numbered, in its own data block."""
    match = re.search(
        rf"<<<DATA file {re.escape(path)} (?P<fence>[0-9a-f]{{16}})>>>\n(?P<body>.*?)\n"
        rf"<<<END (?P=fence)>>>",
        prompt,
        re.S,
    )
    if match is None:
        return False
    lines = [line.split(" | ", 1)[1] if " | " in line else "" for line in match["body"].split("\n")]
    return lines == content.splitlines()


def outsider_gate(redis_url: str) -> RedisOutsiderGate:
    """An outsider record on ``redis_url`` under a prefix of its own."""
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    return RedisOutsiderGate(client, prefix=f"test:{uuid.uuid4().hex[:10]}:outsider:")


def run_fix_comment(
    world: FixWorld,
    model: ModelClient,
    outsiders: RedisOutsiderGate,
    login: str,
    body: str,
    number: int,
) -> tuple[str, CommandJob]:
    """Write ``body`` as ``login``'s comment on PR ``number`` and run its command in-process."""
    cid = fix_user_comment(world.gh, number, login, body)
    return run_command_job(world, model, outsiders, login, number, cid)


def run_command_job(
    world: FixWorld,
    model: ModelClient,
    outsiders: RedisOutsiderGate,
    login: str,
    number: int,
    comment_id: int,
    kind: CommentKind = "issue_comment",
    command: CommandName = "fix",
    github_web_url: str | None = None,
) -> tuple[str, CommandJob]:
    """Run the command job of an existing comment in-process, as the worker would
    (``github_web_url``: the ``GITHUB_WEB_URL`` setting)."""
    job = CommandJob(
        delivery_id=f"d-{comment_id}",
        installation_id=world.installation_id,
        repository=REPO,
        pr_number=number,
        comment_id=comment_id,
        comment_kind=kind,
        command=command,
        sender_login=login,
        sender_id=99,
    )
    deps = build_deps(
        job,
        app=world.app,
        model=model,
        enqueue_review=lambda _job: True,
        help_text="help",
        findings_of=lambda _body: None,
        outsiders=outsiders,
        github_web_url=github_web_url,
    )
    return handle_command(job, deps), job


def answer_when_shown(path: str, content: str, edit: Mapping[str, Any]) -> Any:
    """A model answer: ``edit`` when the prompt shows ``path`` whole, else a refusal."""
    from tests.emulators.openai import text

    def answer(body: dict[str, Any]) -> Any:
        prompt = "\n".join(texts_of(body.get("input")))
        if shown_whole(prompt, path, content):
            return text(fix_answer([dict(edit)], summary="Include both bounds."))
        return text(fix_answer([], refusal="The file to fix was not shown."))

    return answer
