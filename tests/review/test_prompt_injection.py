"""Hostile names and texts from a pull request reach the model only inside data blocks.

The pull request of ``tests/fixtures/injection/review_names.json`` is opened on the
GitHub emulator (its branch name, title, commit messages and file names carry
backticks, newlines, fake block closers and instructions) and reviewed by the real
flow against the OpenAI emulator; the assertions read the prompt the emulator got.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator
from tests.emulators.openai.answers import findings
from tests.review.conftest import BASE_FILES, REPO, World, finding
from workers.prompts.names import shown_name
from workers.redis_server import RedisServer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "injection" / "review_names.json"
SENTINEL = re.compile(r"INJECT-[A-Z]+-[0-9A-Z]{3}")
# A block opens with `<<<DATA-<tag> name` and closes with `DATA-<tag>>>>`.
BLOCK = re.compile(r"<<<(?P<tag>DATA-[0-9a-f]+) [^\n]*\n.*?\n?(?P=tag)>>>", re.S)


def outside_blocks(text: str) -> str:
    """``text`` with every data block cut out."""
    return BLOCK.sub("", text)


def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def hostile(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
) -> Iterator[World]:
    spec = data()
    gh = github_emulator
    app = gh.create_app("codex-review")
    gh.create_repo(REPO, BASE_FILES)
    installation = gh.create_installation(app, "acme", ["calc"])
    names = list(spec["files"].items())
    first, *rest = spec["commits"]
    head = gh.commit(REPO, spec["branch"], dict(names[:2]), first)
    head = gh.commit(REPO, spec["branch"], dict(names[2:]), rest[0])
    number = gh.create_pull(REPO, spec["branch"], title=spec["title"], body="Adds totals.")
    world = World(gh, openai_emulator, redis_server.url, app, installation, number, head)
    try:
        yield world
    finally:
        world.close()


def test_hostile_branch_title_commit_and_file_names_stay_inside_data_blocks(
    hostile: World,
) -> None:
    spec = data()
    hostile.openai.add(findings([]))

    outcome = hostile.run("opened")

    assert outcome.status in ("posted", "quiet"), outcome
    requests = [r for r in hostile.openai.requests if r.status_code == 200]
    assert requests
    sentinels = set(SENTINEL.findall(json.dumps(spec)))
    assert len(sentinels) == 9
    seen: set[str] = set()
    for request in requests:
        instructions = str(request.body["instructions"])
        prompt = "\n".join(str(item.get("content", "")) for item in request.body["input"])
        assert not SENTINEL.search(instructions)
        # The review offers tools: the instructions describe them and their scope.
        assert "- `search`: " in instructions
        assert "only the pull request's changed files" in instructions
        # Every sentinel the prompt holds is inside a block; none is outside.
        assert SENTINEL.findall(outside_blocks(prompt)) == []
        seen |= set(SENTINEL.findall(prompt))
        tags = set(re.findall(r"<<<(DATA-[0-9a-f]+) ", prompt))
        assert len(tags) == 1, tags  # one tag for every block of the pull request
        (tag,) = tags
        assert prompt.count(f"<<<{tag} ") == prompt.count(f"{tag}>>>") == 5
        # File names are escaped: no raw backtick, newline or bidi control from a name.
        for name in spec["files"]:
            if name in prompt:
                pytest.fail(f"raw file name in the prompt: {name!r}")
        assert "\u202e" not in prompt
        assert shown_name(spec["branch"]) in prompt
        assert "Commit subjects (2), oldest first:" in prompt
    # Only the commits' subject lines are shown.
    assert seen == sentinels - {"INJECT-COMMIT-9B9"}


def test_a_finding_on_an_escaped_file_name_is_posted_on_the_real_file(hostile: World) -> None:
    real = next(name for name in data()["files"] if "\n" in name)
    shown = shown_name(real)
    assert shown != real
    hostile.openai.add(
        findings([finding(shown, 2, "    return 3", "Returns a constant", priority=1)])
    )

    outcome = hostile.run("opened")

    assert outcome.status == "posted", outcome
    (comment,) = hostile.comments()
    assert comment["path"] == real
    assert comment["line"] == 2
