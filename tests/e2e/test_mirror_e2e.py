"""End to end: a bug only a caller in another file reveals is found with the worker's
mirror and missed without it (``MIRROR_MAX_BYTES=0``).

The real receiver and worker processes, a real Redis, the GitHub emulator serving
the repository over git's smart HTTP, and a Responses emulator that reports the bug
only when the caller's line is in the prompt.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.review_support import ReviewStack, pull_request_payload, wait_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings
from tests.mirror.test_review_with_mirror import BASE, CALLER_LINE, PLANTED, PRICING_NEW
from workers.redis_server import RedisServer

pytestmark = pytest.mark.e2e
REPO = "acme/calc"


@contextmanager
def _stack(
    tmp_path: Path, github: GitHubEmulator, openai: ResponsesEmulator, mirror: bool
) -> Iterator[ReviewStack]:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    made = ReviewStack(
        root=tmp_path,
        github=github,
        openai=openai,
        app=github.create_app("codex-review"),
        redis_server=server,
        extra_env={} if mirror else {"MIRROR_MAX_BYTES": "0"},
    )
    try:
        yield made
    finally:
        made.stop()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


@pytest.mark.parametrize("mirror", [True, False], ids=["with-mirror", "without-mirror"])
def test_the_planted_bug_is_found_only_with_the_callers_in_the_prompt(
    tmp_path: Path,
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    mirror: bool,
) -> None:
    with _stack(tmp_path, github_emulator, openai_emulator, mirror) as stack:
        gh = stack.github
        gh.create_repo(REPO, BASE)
        installation = gh.create_installation(stack.app, "acme", ["calc"])
        head = gh.commit(REPO, "feature", {"lib/pricing.py": PRICING_NEW}, "Swap arguments")
        number = gh.create_pull(REPO, "feature", title="Currency first", author="alice")
        stack.openai.add(findings([PLANTED]), match=CALLER_LINE)
        stack.openai.add(findings([]))
        stack.start_web()
        stack.start_worker()
        body = pull_request_payload(
            "opened", repository=REPO, installation_id=installation, number=number, head_sha=head
        )
        assert stack.deliver("pull_request", body, str(uuid.uuid4())).status_code == 202
        wait_for(lambda: gh.reviews(REPO, number), 60, "the review", stack)
        comments = gh.review_comments(REPO, number)
        git_fetches = [r for r in gh.requests if ".git/" in r.path]
        if mirror:
            assert [c["path"] for c in comments] == ["lib/pricing.py"]
            assert git_fetches
        else:
            assert comments == []
            assert git_fetches == []
