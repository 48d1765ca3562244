"""Model lifecycle: the built-in table, the start-up check, ``doctor``, and repository choices."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest
import redis
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from codex_common.settings import ConfigError, load_settings
from tests.emulators.openai import ResponsesEmulator, text
from tests.model.helpers import make_config
from workers.cli.doctor import doctor
from workers.model import ModelConfig, PriceTable
from workers.model.catalog import accepts_temperature, allowed_efforts, retirement
from workers.model.config import DEFAULT_ESCALATION_MODEL, ModelSettings
from workers.model.lifecycle import (
    check_models,
    list_models,
    repository_choice_problems,
    startup_check,
)
from workers.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)


def _config(**overrides: object) -> ModelConfig:
    return ModelConfig(keys=(SecretStr("sk-test-0"),), **overrides)  # type: ignore[arg-type]


# -- the built-in table (pure) ----------------------------------------------------------------


def test_the_default_escalation_model_is_the_replacement_named_for_gpt_5_codex() -> None:
    gone = retirement("gpt-5-codex")
    assert gone is not None
    assert (gone.shutdown, gone.replacement) == (date(2026, 7, 23), "gpt-5.4")
    assert gone.replacement == DEFAULT_ESCALATION_MODEL
    assert retirement("gpt-5-codex-2025-09-15") == gone  # a dated snapshot of it
    assert retirement("gpt-5-codex-mini") is None  # another model, not a snapshot


def test_codex_models_refuse_minimal_effort_and_reasoning_models_refuse_temperature() -> None:
    assert "minimal" not in allowed_efforts("gpt-5-codex-mini")
    assert "minimal" in allowed_efforts("gpt-5-mini")
    assert "none" in allowed_efforts("gpt-5.4")
    assert not accepts_temperature("gpt-5.4")
    assert accepts_temperature("gpt-4.1")


def test_every_default_model_has_a_price_and_is_not_retired() -> None:
    config = _config()
    assert check_models(config, None, TODAY).problems == ()


def test_a_shut_down_model_is_a_problem_naming_the_setting_and_the_replacement() -> None:
    config = _config(escalation_model="gpt-5-codex")
    check = check_models(config, None, TODAY)
    assert check.problems == (
        "OPENAI_ESCALATION_MODEL: gpt-5-codex was shut down by OpenAI on 2026-07-23; use gpt-5.4",
    )


def test_a_review_model_that_is_gone_names_the_setting_and_the_documented_replacement() -> None:
    config = _config(model="gpt-5.1-codex-mini")
    assert check_models(config, {"gpt-5.4", "gpt-5.4-mini"}, TODAY).problems == (
        "OPENAI_MODEL: gpt-5.1-codex-mini was shut down by OpenAI on 2026-07-23; use gpt-5.4-mini",
    )


def test_a_model_within_thirty_days_of_shutdown_is_a_warning() -> None:
    prices = PriceTable.from_json(
        '{"gpt-5.2-chat-latest": {"input": 1, "cached_input": 0.1, "output": 2}}',
        base=PriceTable.default(),
    )
    config = _config(model="gpt-5.2-chat-latest", prices=prices)
    check = check_models(config, None, date(2026, 7, 20))
    assert check.problems == ()
    assert check.warnings == (
        "OPENAI_MODEL: gpt-5.2-chat-latest shuts down on 2026-08-10; move to gpt-5.5",
    )
    assert check_models(config, None, date(2026, 8, 10)).problems != ()


def test_a_priced_model_the_api_does_not_list_is_a_problem() -> None:
    prices = PriceTable.from_json(
        '{"house-model": {"input": 1, "cached_input": 0.1, "output": 2}}',
        base=PriceTable.default(),
    )
    check = check_models(_config(prices=prices), {"gpt-5-codex-mini", "gpt-5.4"}, TODAY)
    assert check.problems == (
        "MODEL_PRICES: house-model is not served to the configured keys (GET /v1/models)",
    )


def test_an_effort_the_model_refuses_stops_the_settings_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-looking")
    monkeypatch.setenv("OPENAI_REASONING_EFFORT", "minimal")
    with pytest.raises(ConfigError) as raised:
        load_settings(ModelSettings)
    assert "OPENAI_REASONING_EFFORT" in str(raised.value)
    assert "gpt-5-codex-mini does not accept reasoning effort `minimal`" in str(raised.value)


# -- against the emulator ---------------------------------------------------------------------


def test_the_start_up_check_lists_models_with_the_first_key_the_api_accepts(
    openai_emulator: ResponsesEmulator,
) -> None:
    openai_emulator.revoke("sk-test-0")
    config = make_config(openai_emulator, "p", keys=("sk-test-0", "sk-test-1"))
    with httpx.Client(timeout=5) as http:
        listed = list_models(config, http)
        assert isinstance(listed, set)
        assert {"gpt-5-codex-mini", "gpt-5.4"} <= listed
        openai_emulator.models.discard("gpt-5-codex-mini")
        check = startup_check(config, http, TODAY)
    assert check.problems == (
        "OPENAI_MODEL: gpt-5-codex-mini is not served to the configured keys (GET /v1/models)",
    )


def test_every_key_refused_at_start_is_a_problem_naming_the_setting(
    openai_emulator: ResponsesEmulator,
) -> None:
    for key in openai_emulator.keys:
        openai_emulator.revoke(key)
    config = make_config(openai_emulator, "p")
    with httpx.Client(timeout=5) as http:
        check = startup_check(config, http, TODAY)
    assert check.problems == ("OPENAI_API_KEY: the API refused every key: key 1 (401)",)


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_shut_down_escalation_model_refuses_the_worker_start_with_one_line(
    openai_emulator: ResponsesEmulator, tmp_path: Path, pem: str
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": openai_emulator.url,
        "OPENAI_ESCALATION_MODEL": "gpt-5-codex",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "worker"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "codex-bot: OPENAI_ESCALATION_MODEL: gpt-5-codex was shut down by OpenAI on "
        "2026-07-23; use gpt-5.4"
    )
    assert "Traceback" not in result.stderr


def test_doctor_names_the_setting_of_a_shut_down_model(
    openai_emulator: ResponsesEmulator, model_redis: RedisServer, pem: str
) -> None:
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "GITHUB_API_URL": "http://127.0.0.1:1",
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": openai_emulator.url,
        "OPENAI_ESCALATION_MODEL": "gpt-5-codex",
        "REDIS_URL": model_redis.url,
    }
    result = CliRunner().invoke(doctor, [], env=env)
    assert result.exit_code == 1
    model_line = next(line for line in result.output.splitlines() if line.startswith("model"))
    assert "FAIL" in model_line
    assert "OPENAI_ESCALATION_MODEL: gpt-5-codex was shut down" in model_line
    assert openai_emulator.requests == []  # nothing paid


def test_doctor_says_when_the_api_refuses_every_key(
    openai_emulator: ResponsesEmulator, model_redis: RedisServer, pem: str
) -> None:
    openai_emulator.revoke("sk-test-0")
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "GITHUB_API_URL": "http://127.0.0.1:1",
        "OPENAI_API_KEY": "sk-test-0",
        "OPENAI_BASE_URL": openai_emulator.url,
        "REDIS_URL": model_redis.url,
    }
    result = CliRunner().invoke(doctor, [], env=env)
    model_line = next(line for line in result.output.splitlines() if line.startswith("model"))
    assert "FAIL  OPENAI_API_KEY: the API refused every key: key 1 (401)" in model_line


def test_doctor_tries_each_key_and_names_the_revoked_one(
    openai_emulator: ResponsesEmulator, model_redis: RedisServer, pem: str
) -> None:
    openai_emulator.revoke("sk-test-0")
    openai_emulator.add(text('{"ok": true}'))
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY": pem,
        "GITHUB_API_URL": "http://127.0.0.1:1",
        "OPENAI_API_KEY": "sk-test-0,sk-test-1",
        "OPENAI_BASE_URL": openai_emulator.url,
        "REDIS_URL": model_redis.url,
    }
    store: redis.Redis[bytes] = redis.Redis.from_url(model_redis.url)
    try:
        result = CliRunner().invoke(doctor, [], env=env)
    finally:
        # doctor uses the default prefix: leave no parked key behind for other tests.
        for name in store.scan_iter("codex:model:*"):
            store.delete(name)
        store.close()
    lines = {
        line[:13].strip(): line[13:].strip()
        for line in result.output.splitlines()
        if line.startswith("model key")
    }
    # Each key is tried on its own: the revoked one is a problem to fix, named with its
    # reason; the good one answers.
    assert lines["model key 1"].startswith("FAIL"), result.output
    assert "key 1 (unauthorized)" in lines["model key 1"]
    assert lines["model key 2"].startswith("ok"), result.output
    assert result.exit_code == 1


# -- a repository's own choice ----------------------------------------------------------------


def test_a_repository_model_without_a_price_or_not_allowed_is_refused_before_any_call() -> None:
    config = _config()
    assert repository_choice_problems(config, "house-model", None, TODAY) == (
        "`model: house-model` has no price in this bot's price table, so its cost could not "
        "be tracked; remove the key to use `gpt-5-codex-mini`, or ask the operator to add the "
        "model to MODEL_PRICES.",
    )
    allowed = _config(allowed_models=frozenset({"gpt-5-codex-mini", "gpt-5.4-mini"}))
    assert repository_choice_problems(allowed, "gpt-5.4", None, TODAY) == (
        "`model: gpt-5.4` is not allowed by this bot's operator; allowed: `gpt-5-codex-mini`, "
        "`gpt-5.4-mini`.",
    )
    assert repository_choice_problems(allowed, "gpt-5.4-mini", "low", TODAY) == ()
    assert repository_choice_problems(config, "gpt-5-codex", None, TODAY) == (
        "`model: gpt-5-codex` was shut down by OpenAI on 2026-07-23; use gpt-5.4.",
    )
    assert repository_choice_problems(config, None, "minimal", TODAY) == (
        "`reasoning_effort: minimal`: gpt-5-codex-mini does not accept reasoning effort "
        "`minimal` (it accepts low, medium, high).",
    )
