"""Configuration of the model client.

``ModelSettings`` reads the environment (only when constructed, never at
import) and produces the frozen ``ModelConfig`` the client is built from.

Environment:
``OPENAI_API_KEY`` (comma-separated keys), ``OPENAI_BASE_URL``, ``OPENAI_MODEL``,
``OPENAI_ESCALATION_MODEL``, ``OPENAI_REASONING_EFFORT``, ``OPENAI_MAX_OUTPUT_TOKENS``,
``OPENAI_SERVICE_TIER``, ``OPENAI_TEMPERATURE``, ``OPENAI_TIMEOUT_SECONDS``,
``OPENAI_API_STYLE`` (``openai`` or ``azure``), ``AZURE_OPENAI_API_VERSION``,
``AZURE_OPENAI_DEPLOYMENTS`` (JSON ``{"model": "deployment"}``), ``MODEL_PRICES``
(JSON price table overriding the defaults), ``MODEL_MONTHLY_BUDGET_USD``,
``OPENAI_MAX_CONCURRENCY_PER_KEY``, ``OPENAI_TOKENS_PER_MINUTE_PER_KEY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.model.pricing import PriceTable
from workers.model.retry import RetryPolicy

ReasoningEffort = Literal["minimal", "low", "medium", "high"]
ServiceTier = Literal["auto", "default", "flex", "priority"]
ApiStyle = Literal["openai", "azure"]


@dataclass(frozen=True, slots=True)
class AzureSettings:
    """Azure OpenAI: the ``api-key`` header, the v1 route, deployments named in ``model``.

    ``base_url`` is then ``https://<resource>.openai.azure.com/openai/v1``; an
    ``api_version`` (e.g. ``preview``) is sent as the ``api-version`` query
    parameter when set. ``deployments`` maps model names to deployment names.
    """

    api_version: str | None = None
    deployments: Mapping[str, str] = field(default_factory=dict)

    def deployment(self, model: str) -> str:
        return self.deployments.get(model, model)


@dataclass(frozen=True, slots=True)
class LimiterSettings:
    """Per-key limits enforced through Redis across all worker processes.

    ``None`` means: use the limit the server last reported in
    ``x-ratelimit-limit-*``, or none before the first answer.
    """

    max_concurrency: int = 8
    tokens_per_window: int | None = None
    window_seconds: float = 60.0
    lease_seconds: float = 300.0
    max_wait_seconds: float = 120.0
    poll_seconds: float = 0.05


@dataclass(frozen=True, slots=True)
class ModelConfig:
    keys: tuple[SecretStr, ...]
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-5-codex-mini"
    escalation_model: str | None = "gpt-5-codex"
    reasoning_effort: ReasoningEffort = "low"
    escalation_reasoning_effort: ReasoningEffort = "medium"
    max_output_tokens: int = 4096
    max_output_tokens_ceiling: int = 16384
    service_tier: ServiceTier | None = None
    temperature: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 180.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: LimiterSettings = field(default_factory=LimiterSettings)
    api_style: ApiStyle = "openai"
    azure: AzureSettings = field(default_factory=AzureSettings)
    prices: PriceTable = field(default_factory=PriceTable.default)
    monthly_budget_usd: Decimal | None = None
    max_tool_rounds: int = 4
    max_tool_output_chars: int = 20_000
    redis_prefix: str = "codex:model"

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one API key is required")
        if self.max_output_tokens <= 0 or self.max_output_tokens_ceiling < self.max_output_tokens:
            raise ValueError("max_output_tokens must be positive and not above the ceiling")

    @property
    def responses_url(self) -> str:
        return self.base_url.rstrip("/") + "/responses"


class ModelSettings(BaseSettings):
    """Environment-backed settings; ``to_config()`` gives the frozen ``ModelConfig``."""

    # The same sources as ``WorkerSettings``: the environment, then ``.env``.
    model_config = SettingsConfigDict(
        env_prefix="",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    openai_api_key: SecretStr
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-5-codex-mini"
    openai_escalation_model: str | None = "gpt-5-codex"
    openai_reasoning_effort: ReasoningEffort = "low"
    openai_max_output_tokens: int = Field(default=4096, gt=0)
    openai_service_tier: ServiceTier | None = None
    openai_temperature: float | None = None
    openai_timeout_seconds: float = Field(default=180.0, gt=0)
    openai_api_style: ApiStyle = "openai"
    azure_openai_api_version: str | None = None
    azure_openai_deployments: str | None = None
    model_prices: str | None = None
    model_monthly_budget_usd: Decimal | None = None
    openai_max_concurrency_per_key: int = Field(default=8, gt=0)
    openai_tokens_per_minute_per_key: int | None = None

    @field_validator("openai_api_key")
    @classmethod
    def _keys_present(cls, value: SecretStr) -> SecretStr:
        keys = [key.strip() for key in value.get_secret_value().split(",") if key.strip()]
        if not keys:
            raise ValueError("OPENAI_API_KEY holds no key")
        if any(key in {"changeme", "sk-...", "your-key"} for key in keys):
            raise ValueError("OPENAI_API_KEY holds a placeholder")
        return value

    def to_config(self) -> ModelConfig:
        keys = tuple(
            SecretStr(key.strip())
            for key in self.openai_api_key.get_secret_value().split(",")
            if key.strip()
        )
        deployments: dict[str, str] = {}
        if self.azure_openai_deployments:
            raw = json.loads(self.azure_openai_deployments)
            if not isinstance(raw, dict):
                raise ValueError("AZURE_OPENAI_DEPLOYMENTS must be a JSON object")
            deployments = {str(k): str(v) for k, v in raw.items()}
        prices = PriceTable.default()
        if self.model_prices:
            prices = PriceTable.from_json(self.model_prices, base=prices)
        return ModelConfig(
            keys=keys,
            base_url=self.openai_base_url,
            model=self.openai_model,
            escalation_model=self.openai_escalation_model or None,
            reasoning_effort=self.openai_reasoning_effort,
            max_output_tokens=self.openai_max_output_tokens,
            max_output_tokens_ceiling=max(16384, self.openai_max_output_tokens),
            service_tier=self.openai_service_tier,
            temperature=self.openai_temperature,
            read_timeout=self.openai_timeout_seconds,
            api_style=self.openai_api_style,
            azure=AzureSettings(self.azure_openai_api_version, deployments),
            prices=prices,
            monthly_budget_usd=self.model_monthly_budget_usd,
            limiter=LimiterSettings(
                max_concurrency=self.openai_max_concurrency_per_key,
                tokens_per_window=self.openai_tokens_per_minute_per_key,
            ),
        )
