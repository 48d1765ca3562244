"""The worker settings behind the review's policies: the default monthly budget, the
outsider policy, links and the GitHub connection pool."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from codex_common.settings import ConfigError, load_settings
from workers.config import WorkerSettings
from workers.review.outcome import pipeline_settings
from workers.review.outsiders import OutsiderPolicy

_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)


def _settings(**overrides: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "app_id": 7,
        "private_key": _PEM,
        "openai_api_key": "sk-settings-test-0123456789",
    }
    return load_settings(WorkerSettings, **{**base, **overrides})


def test_a_repository_has_a_conservative_monthly_budget_by_default() -> None:
    settings = _settings()
    assert settings.model_monthly_budget_usd == Decimal("20")
    assert settings.to_config().monthly_budget_usd == Decimal("20")
    assert _settings(model_monthly_budget_usd="none").to_config().monthly_budget_usd is None
    assert _settings(model_monthly_budget_usd="150").model_monthly_budget_usd == Decimal("150")
    with pytest.raises(ConfigError, match="MODEL_MONTHLY_BUDGET_USD"):
        _settings(model_monthly_budget_usd="-1")


def test_outsider_reviews_are_limited_by_default_and_reach_the_flow() -> None:
    assert pipeline_settings(_settings()).outsiders == OutsiderPolicy("limited", 3, 10)
    chosen = _settings(
        outsider_reviews="command",
        outsider_reviews_per_pr_per_day=1,
        outsider_reviews_per_author_per_day=2,
    )
    assert pipeline_settings(chosen).outsiders == OutsiderPolicy("command", 1, 2)
    with pytest.raises(ConfigError, match="OUTSIDER_REVIEWS"):
        _settings(outsider_reviews="everyone")


def test_links_follow_github_web_url_only_when_set() -> None:
    assert pipeline_settings(_settings()).web_url is None
    web = _settings(github_web_url="https://ghe.example:8443/")
    assert pipeline_settings(web).web_url == "https://ghe.example:8443"
    with pytest.raises(ConfigError, match="GITHUB_WEB_URL"):
        _settings(github_web_url="ghe.example")


def test_the_connection_pool_covers_every_thread_of_a_review() -> None:
    few = pipeline_settings(_settings())
    assert few.github_threads >= 2 * few.fetch_concurrency + 4
    many = pipeline_settings(
        _settings(
            openai_api_key="sk-a-0123456789,sk-b-0123456789", openai_max_concurrency_per_key=32
        )
    )
    assert many.model_concurrency == 64
    assert many.github_threads == 64
