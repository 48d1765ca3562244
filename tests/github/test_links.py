"""Links in posted text come from the pages GitHub's API names (``html_url``) or from
``GITHUB_WEB_URL``, never from the API's own URL: on an Enterprise Server whose pages
are on another host and port than its API, they still open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.fix_helpers import (
    EDIT,
    REPO,
    FixWorld,
    fix_answer,
    fix_model,
    fix_seed,
    outsider_gate,
    run_command_job,
)
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, text
from workers.github.links import link_host, pull_page
from workers.redis_server import RedisServer

GHES_WEB = "https://ghe.example:8443"


def test_a_comment_page_gives_its_pull_request_page_with_the_port_kept() -> None:
    comment = f"{GHES_WEB}/acme/widget/pull/7#issuecomment-42"
    assert pull_page(comment, repository="acme/widget", number=7) == (
        f"{GHES_WEB}/acme/widget/pull/7"
    )
    review_comment = f"{GHES_WEB}/acme/widget/pull/7#discussion_r9"
    assert pull_page(review_comment, repository="acme/widget", number=7).endswith("/pull/7")
    assert link_host(comment) == "ghe.example"


def test_the_web_url_setting_wins_over_the_reported_pages() -> None:
    page = pull_page(
        "https://ghe.example:8443/acme/widget/pull/7#issuecomment-1",
        repository="acme/widget",
        number=7,
        web_url="https://code.example.org:9443/",
    )
    assert page == "https://code.example.org:9443/acme/widget/pull/7"


@pytest.fixture
def world(ghes_emulator: GitHubEmulator) -> FixWorld:
    ghes_emulator.state.web_url = GHES_WEB
    return fix_seed(ghes_emulator)


@pytest.fixture
def fix(
    world: FixWorld,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
    model_prefix: str,
) -> Iterator[object]:
    model = fix_model(openai_emulator.url, redis_server.url, model_prefix)
    openai_emulator.add(text(fix_answer([EDIT])), match="Files you may edit")

    def go(web_url: str | None) -> str:
        cid = world.gh.add_issue_comment(REPO, world.pr_number, "alice", "/codex fix area()")
        outcome, _ = run_command_job(
            world,
            model,
            outsider_gate(redis_server.url),
            "alice",
            world.pr_number,
            cid,
            github_web_url=web_url,
        )
        assert outcome == "pushed"
        replies = [
            c["body"]
            for c in world.gh.issue_comments(REPO, world.pr_number)
            if c["user"]["login"] == "codex-review[bot]"
        ]
        return replies[-1]

    yield go
    model.close()


def test_a_fix_reply_links_to_the_enterprise_server_page_with_its_port(
    world: FixWorld, fix
) -> None:
    assert world.gh.base_url.endswith("/api/v3")
    reply = fix(None)
    sha = world.gh.branch_sha(REPO, "feature")
    assert f"]({GHES_WEB}/{REPO}/pull/{world.pr_number}/commits/{sha})" in reply
    assert "127.0.0.1" not in reply


def test_a_fix_reply_follows_github_web_url_when_set(world: FixWorld, fix) -> None:
    reply = fix("https://code.example.org:9443")
    sha = world.gh.branch_sha(REPO, "feature")
    assert f"](https://code.example.org:9443/{REPO}/pull/{world.pr_number}/commits/{sha})" in reply
