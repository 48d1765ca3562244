"""``codex-bot doctor`` against the emulators: each check passes or says what is wrong."""

from __future__ import annotations

from click.testing import CliRunner

from tests.emulators.openai import text
from tests.review.conftest import World
from workers.cli.doctor import doctor


def env(world: World, **overrides: str) -> dict[str, str]:
    values = {
        "APP_ID": str(world.app.id),
        "PRIVATE_KEY": world.app.private_key_pem,
        "GITHUB_API_URL": world.github.base_url,
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": world.openai.url,
        "REDIS_URL": world.redis_url,
    }
    values.update(overrides)
    return values


def test_everything_configured_passes(world: World) -> None:
    world.openai.add(text('{"ok": true}'), match="Answer with ok set to true.")
    result = CliRunner().invoke(doctor, [], env=env(world))

    assert result.exit_code == 0, result.output
    assert "authenticated as the App codex-review" in result.output
    assert "answers" in result.output
    assert "FAIL" not in result.output


def test_problems_are_named_in_plain_words(world: World) -> None:
    other = world.github.create_app("someone-else")
    wrong_key = env(world, PRIVATE_KEY=other.private_key_pem)
    result = CliRunner().invoke(doctor, [], env=wrong_key)
    assert result.exit_code == 1
    assert "refused the credentials: APP_ID" in result.output

    no_broker = env(world, REDIS_URL="redis://127.0.0.1:1/0")
    result = CliRunner().invoke(doctor, [], env=no_broker)
    assert result.exit_code == 1
    assert "broker        FAIL  cannot reach Redis at redis://127.0.0.1:1/0" in result.output

    missing = env(world)
    del missing["APP_ID"]
    result = CliRunner().invoke(doctor, [], env={**missing, "APP_ID": ""})
    assert result.exit_code == 2
    assert "APP_ID" in result.output


def test_a_model_without_a_price_is_refused_before_any_call(world: World) -> None:
    unpriced = env(world, OPENAI_MODEL="house-model-7", OPENAI_ESCALATION_MODEL="")
    result = CliRunner().invoke(doctor, [], env=unpriced)

    assert result.exit_code == 1
    assert "no price for house-model-7" in result.output
    assert world.openai.requests == []

    priced = env(
        world,
        OPENAI_MODEL="house-model-7",
        OPENAI_ESCALATION_MODEL="",
        MODEL_PRICES='{"house-model-7": {"input": 1, "cached_input": 0.1, "output": 4}}',
    )
    world.openai.models.add("house-model-7")
    world.openai.add(text('{"ok": true}'), match="Answer with ok set to true.")
    result = CliRunner().invoke(doctor, [], env=priced)
    assert result.exit_code == 0, result.output
