"""Seeding for the fix end-to-end tests: a repository, a PR and a maintainer's comment.

The emulator has no endpoint for a *user's* comment (everything it serves acts
as the App), so user comments are added to its state directly, shaped as
GitHub's API returns them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis
from pydantic import SecretStr

from tests.emulators.github import GitHubEmulator
from workers.github import GitHubApp
from workers.model.client import ModelClient
from workers.model.config import ModelConfig

REPO = "acme/widget"
SOURCE = "def area(w, h):\n    return w + h\n\n\ndef main():\n    print(area(2, 3))\n"


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
    app = GitHubApp(seeded.id, seeded.private_key_pem, gh.base_url)
    return FixWorld(gh, app, installation, number, head)


def fix_user_comment(
    gh: GitHubEmulator, number: int, login: str, body: str, kind: str = "User"
) -> int:
    """Add a conversation comment written by ``login``; its id."""
    with gh.state.lock:
        user = gh.state.user(login, kind)
        cid = gh.state.next_id()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        comment: dict[str, Any] = {
            "_repo": REPO,
            "_number": number,
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{gh.base_url}/repos/{REPO}/issues/comments/{cid}",
            "html_url": f"https://github.example/{REPO}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{gh.base_url}/repos/{REPO}/issues/{number}",
            "body": body,
            "user": user.to_json(gh.base_url),
            "created_at": stamp,
            "updated_at": stamp,
            "author_association": "COLLABORATOR",
        }
        gh.state.issue_comments.append(comment)
    return cid


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
