"""Head contents are read only for files the review needs them for: not for files the diff
engine skips whatever their contents (lockfiles, vendored, generated, binary, deleted,
excluded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings
from tests.review.conftest import BASE_FILES, HEAD_CALC, World, seed
from workers.redis_server import RedisServer

LOCK = "".join(f'name = "pkg{i}"\nversion = "1.{i}"\n' for i in range(40))
VENDORED = "".join(f"def v{i}():\n    return {i}\n\n\n" for i in range(40))
BASE = {
    **BASE_FILES,
    "poetry.lock": LOCK,
    "vendor/lib.py": VENDORED,
    "static/app.min.js": "var a=1;\n",
    "old.py": "x = 1\n",
    "logo.png": "\x89PNG\r\n\x1a\n\x00\x01",
}
HEAD = {
    "calc.py": HEAD_CALC,
    "poetry.lock": LOCK.replace('version = "1.7"', 'version = "2.7"'),
    "vendor/lib.py": VENDORED.replace("return 7\n", "return 70\n"),
    "static/app.min.js": "var a=2;\n",
    "old.py": None,
    "logo.png": "\x89PNG\r\n\x1a\n\x00\x02",
}


@pytest.fixture
def mixed(
    github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator, redis_server: RedisServer
) -> Iterator[World]:
    made = seed(github_emulator, openai_emulator, redis_server.url, base=BASE, head_files=HEAD)
    try:
        yield made
    finally:
        made.close()


def test_only_the_modified_code_file_is_read(mixed: World) -> None:
    mixed.openai.add(findings([]))
    before = len(mixed.github.requests)

    outcome = mixed.run("opened")

    assert outcome.status == "posted", outcome.reason
    reads = sorted(
        r.path.split("/contents/", 1)[1]
        for r in mixed.github.requests[before:]
        if "/contents/" in r.path
    )
    # AGENTS.md from the default branch (listed), calc.py for its enclosing scopes; the
    # lockfile, the vendored and the minified file, the binary and the removed file are
    # skipped by the diff engine whatever their contents, so none of them is read.
    assert reads == ["AGENTS.md", "calc.py"]
