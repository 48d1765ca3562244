"""``codex-bot review`` on a personal ``GITHUB_TOKEN``, against the GitHub emulator.

The token's user (``GET /user``) is the author the pipeline looks for, so a second
run on the same head finds the first run's review and posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from click.testing import CliRunner

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings
from tests.review.conftest import BUG, BUG_QUOTE, REPO, World, seed
from workers.cli.review import review
from workers.redis_server import RedisServer

USER = "octo-dev"


@pytest.fixture
def world(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
) -> Iterator[World]:
    # The command keeps its records and segment cache under fixed keys: a database of
    # its own, emptied afterwards, keeps them from other tests on the same server.
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    made = seed(github_emulator, openai_emulator, url)
    try:
        yield made
    finally:
        made.close()
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()


def token_env(world: World, token: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": token,
        "APP_ID": "",
        "PRIVATE_KEY": "",
        "GITHUB_API_URL": world.github.base_url,
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": world.openai.url,
        "OPENAI_ESCALATION_MODEL": "",
        "REDIS_URL": world.redis_url,
    }


def test_reviewing_twice_with_a_personal_token_posts_one_review(world: World) -> None:
    token = world.github.create_user_token(USER, world.installation)
    world.openai.add(findings([BUG]), match=BUG_QUOTE)
    env = token_env(world, token)

    first = CliRunner().invoke(review, [f"{REPO}#{world.number}"], env=env)
    second = CliRunner().invoke(review, [f"{REPO}#{world.number}"], env=env)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    reviews = world.reviews()
    assert len(reviews) == 1
    assert reviews[0]["user"]["login"] == USER
    assert "posted" in first.output
    assert "posted" not in second.output


def test_without_a_token_or_an_app_the_command_names_what_is_missing(world: World) -> None:
    env = {**token_env(world, ""), "APP_ID": ""}
    result = CliRunner().invoke(review, [f"{REPO}#{world.number}"], env=env)
    assert result.exit_code == 2
    assert "GITHUB_TOKEN, or APP_ID with PRIVATE_KEY or PRIVATE_KEY_PATH, is required" in (
        result.output
    )
    assert world.reviews() == []


def test_the_outsider_limits_never_hold_a_review_the_operator_runs(world: World) -> None:
    token = world.github.create_user_token(USER, world.installation)
    world.openai.add(findings([BUG]), match=BUG_QUOTE)
    env = token_env(world, token)
    outputs = []
    for n in range(4):  # one more than an outsider's automatic reviews of a PR a day
        world.push({f"more_{n}.py": f"x = {n}\n"})
        result = CliRunner().invoke(review, [f"{REPO}#{world.number}"], env=env)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert not any("skipped" in output for output in outputs), outputs
    assert world.github.state.check_runs[-1]["output"]["title"] != "Review limit reached"
