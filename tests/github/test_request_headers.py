"""Every request the bot sends to GitHub names the API version, asks for GitHub's JSON and
says who is asking; its connection pool holds one connection per sharing thread."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.emulators.github import GitHubEmulator
from tests.github.conftest import World, seed
from workers.github import GitHubApp, GitHubToken, LocalPacer
from workers.github.auth import user_agent


@pytest.fixture
def world(github_emulator: GitHubEmulator) -> World:
    return seed(github_emulator)


def _exercise(world: World, app: GitHubApp) -> None:
    app.app_identity()
    gh = app.installation_client(world.installation, "acme/widgets")
    gh.get_pull(world.number)
    gh.list_pull_files(world.number)
    gh.get_file("app.py", world.head)
    gh.create_issue_comment(world.number, "hello")
    list(app.hook_deliveries(since=0))


def test_every_request_of_the_app_carries_the_version_media_type_and_user_agent(
    world: World,
) -> None:
    world.emulator.point_webhook("http://127.0.0.1:9/hook", "a-secret-of-some-length")
    app = world.github_app()
    _exercise(world, app)
    sent = world.emulator.requests
    paths = {r.path for r in sent}
    # The JWT calls, the token request and the installation's calls are all there.
    assert {"/app", f"/app/installations/{world.installation}/access_tokens"} <= paths
    assert "/app/hook/deliveries" in paths
    assert "/repos/acme/widgets/issues/1/comments" in paths
    for request in sent:
        assert request.headers.get("x-github-api-version") == "2022-11-28", request.path
        assert request.headers.get("accept") == "application/vnd.github+json", request.path
        assert request.headers.get("user-agent") == user_agent(f"app {world.app.id}")
    assert all(r.status < 400 for r in sent)
    assert user_agent("app 7").startswith("codex-review-bot/")


def test_a_personal_token_client_sends_the_same_headers(world: World) -> None:
    token = world.emulator.create_user_token("alice", world.installation)
    gh = GitHubToken(token, world.emulator.base_url, pacer=LocalPacer(min_interval=0.0))
    gh.installation_client(world.installation, "acme/widgets").get_pull(world.number)
    for request in world.emulator.requests:
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["user-agent"].startswith("codex-review-bot/")


def test_the_connection_pool_is_as_large_as_the_threads_sharing_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # urllib3's warning whatever level an earlier test left on the root logger.
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    app = world.github_app(pool_size=24)
    gh = app.installation_client(world.installation, "acme/widgets")
    world.emulator.slow_next("GET", r"/contents/", 0.2, times=48)
    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(lambda _: gh.get_file("app.py", world.head), range(48)))
    assert "Connection pool is full" not in caplog.text


def test_a_pool_smaller_than_its_threads_throws_connections_away(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The failure the pool size prevents, shown with PyGithub's default of 10."""
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    app = world.github_app()
    gh = app.installation_client(world.installation, "acme/widgets")
    world.emulator.slow_next("GET", r"/contents/", 0.2, times=48)
    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(lambda _: gh.get_file("app.py", world.head), range(48)))
    assert "Connection pool is full" in caplog.text
