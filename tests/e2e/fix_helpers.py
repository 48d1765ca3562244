"""Seeding for the fix end-to-end tests: a repository, a PR and a maintainer's comment.

The emulator's REST API acts as the App only, so people's comments are seeded
through its seeding API. Also: webhook payloads for comments stored in the
emulator, the injection fixtures, and a check that text sits inside the data
blocks of a prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr

from tests.emulators.github import GitHubEmulator
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
