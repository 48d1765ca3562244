"""Configuration of the model client: the ``OPENAI_*`` / ``MODEL_*`` settings and ``ModelConfig``.

``ModelSettings`` is the model section of every process that calls the model
(``WorkerSettings`` and the CLI's settings derive from it): each variable is
parsed and checked here, once, when the settings are built, so a wrong value
stops the process at start-up instead of failing its first job. ``to_config()``
turns it into the frozen ``ModelConfig`` the client is built from.

Environment:
``OPENAI_API_KEY`` (comma-separated keys), ``OPENAI_BASE_URL``, ``OPENAI_MODEL``,
``OPENAI_ESCALATION_MODEL`` (empty: none), ``OPENAI_REASONING_EFFORT``,
``OPENAI_ESCALATION_REASONING_EFFORT``, ``OPENAI_MAX_OUTPUT_TOKENS``,
``OPENAI_ESCALATION_MAX_OUTPUT_TOKENS``, ``OPENAI_MAX_OUTPUT_TOKENS_CEILING``,
``OPENAI_SERVICE_TIER``, ``OPENAI_TEMPERATURE``, ``OPENAI_STREAM_IDLE_TIMEOUT_SECONDS``,
``OPENAI_MAX_TOOL_ROUNDS``, ``OPENAI_MAX_TOOL_CALLS_PER_ROUND``,
``OPENAI_MAX_TOOL_OUTPUT_CHARS_PER_SEGMENT``, ``ALLOWED_MODELS`` (comma-separated;
empty: any model with a price), ``OPENAI_API_STYLE`` (``openai`` or ``azure``),
``AZURE_OPENAI_API_VERSION``, ``AZURE_OPENAI_DEPLOYMENTS`` (JSON
``{"model": "deployment"}``), ``MODEL_PRICES`` (JSON price table over the
defaults), ``MODEL_MONTHLY_BUDGET_USD``, ``OPENAI_MAX_CONCURRENCY_PER_KEY``,
``OPENAI_TOKENS_PER_MINUTE_PER_KEY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Final, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from codex_common.settings import BaseProcessSettings, refuse_placeholders, split_secrets
from workers.model.catalog import ReasoningEffort, effort_problem
from workers.model.pricing import PriceTable
from workers.model.retry import RetryPolicy

__all__ = ["ModelConfig", "ModelSettings", "ReasoningEffort"]
ServiceTier = Literal["auto", "default", "flex", "priority"]
ApiStyle = Literal["openai", "azure"]

# Each default once, for ``ModelConfig`` and ``ModelSettings`` alike.
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_MODEL: Final = "gpt-5-codex-mini"
# OpenAI's deprecations page names gpt-5.4 as the substitute for gpt-5-codex
# (shut down 2026-07-23); see ``workers.model.catalog.LIFECYCLE``.
DEFAULT_ESCALATION_MODEL: Final = "gpt-5.4"
DEFAULT_REASONING_EFFORT: Final[ReasoningEffort] = "low"
DEFAULT_ESCALATION_REASONING_EFFORT: Final[ReasoningEffort] = "medium"
# Reasoning tokens count as output: OpenAI advises reserving about 25,000 tokens for
# reasoning and output. A cut-off answer is retried with a doubled budget up to the
# ceiling before its segment is split.
DEFAULT_MAX_OUTPUT_TOKENS: Final = 16_000
DEFAULT_ESCALATION_MAX_OUTPUT_TOKENS: Final = 25_000
DEFAULT_MAX_OUTPUT_TOKENS_CEILING: Final = 64_000
# Seconds a stream may stay silent before the call is abandoned and retried.
DEFAULT_STREAM_IDLE_TIMEOUT: Final = 120.0
DEFAULT_MAX_TOOL_ROUNDS: Final = 4
DEFAULT_MAX_TOOL_CALLS_PER_ROUND: Final = 4
DEFAULT_MAX_TOOL_OUTPUT_CHARS_PER_SEGMENT: Final = 60_000
DEFAULT_MAX_CONCURRENCY_PER_KEY: Final = 8


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

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY_PER_KEY
    tokens_per_window: int | None = None
    window_seconds: float = 60.0
    lease_seconds: float = 300.0
    max_wait_seconds: float = 120.0
    poll_seconds: float = 0.05


@dataclass(frozen=True, slots=True)
class ModelConfig:
    keys: tuple[SecretStr, ...]
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    escalation_model: str | None = DEFAULT_ESCALATION_MODEL
    reasoning_effort: ReasoningEffort = DEFAULT_REASONING_EFFORT
    escalation_reasoning_effort: ReasoningEffort = DEFAULT_ESCALATION_REASONING_EFFORT
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    escalation_max_output_tokens: int = DEFAULT_ESCALATION_MAX_OUTPUT_TOKENS
    max_output_tokens_ceiling: int = DEFAULT_MAX_OUTPUT_TOKENS_CEILING
    service_tier: ServiceTier | None = None
    temperature: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT
    """Idle timeout: the longest silence between two events of a streamed answer."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: LimiterSettings = field(default_factory=LimiterSettings)
    api_style: ApiStyle = "openai"
    azure: AzureSettings = field(default_factory=AzureSettings)
    prices: PriceTable = field(default_factory=PriceTable.default)
    monthly_budget_usd: Decimal | None = None
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS
    max_tool_calls_per_round: int = DEFAULT_MAX_TOOL_CALLS_PER_ROUND
    max_tool_output_chars: int = 20_000
    max_tool_output_chars_per_segment: int = DEFAULT_MAX_TOOL_OUTPUT_CHARS_PER_SEGMENT
    allowed_models: frozenset[str] | None = None
    """Models a repository may choose; None: any model the price table knows."""
    redis_prefix: str = "codex:model"

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one API key is required")
        budgets = (self.max_output_tokens, self.escalation_max_output_tokens)
        if min(budgets) <= 0 or self.max_output_tokens_ceiling < max(budgets):
            raise ValueError("max_output_tokens must be positive and not above the ceiling")

    def output_budget(self, model: str) -> int:
        """The first ``max_output_tokens`` of a call on ``model``."""
        if model == self.escalation_model and model != self.model:
            return self.escalation_max_output_tokens
        return self.max_output_tokens

    def setting_of(self, model: str) -> str:
        """The setting that chose ``model``, for messages an operator acts on."""
        if model == self.model:
            return "OPENAI_MODEL"
        if model == self.escalation_model:
            return "OPENAI_ESCALATION_MODEL"
        return "the repository's `model`"

    @property
    def responses_url(self) -> str:
        return self.base_url.rstrip("/") + "/responses"


def parse_prices(value: object) -> object:
    """``MODEL_PRICES``: a JSON price table laid over the defaults (USD per 1M tokens)."""
    if isinstance(value, PriceTable):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return PriceTable.default()
    if not isinstance(value, str):
        raise ValueError("must be a JSON object keyed by model")
    try:
        return PriceTable.from_json(value, base=PriceTable.default())
    except json.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    except KeyError as exc:
        raise ValueError(f"a price entry lacks {exc}") from None
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"is not a valid price table ({exc})") from None


def parse_deployments(value: object) -> object:
    """``AZURE_OPENAI_DEPLOYMENTS``: a JSON object ``{"model": "deployment"}``."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}
    try:
        raw = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ValueError('must be a JSON object {"model": "deployment"}')
    return {str(k): str(v) for k, v in raw.items()}


class ModelSettings(BaseProcessSettings):
    """The model section, validated when built; ``to_config()`` gives the ``ModelConfig``."""

    openai_api_key: Annotated[list[SecretStr], NoDecode] = Field(min_length=1)
    openai_base_url: str = DEFAULT_BASE_URL
    openai_model: str = Field(default=DEFAULT_MODEL, min_length=1)
    openai_escalation_model: str | None = DEFAULT_ESCALATION_MODEL
    openai_reasoning_effort: ReasoningEffort = DEFAULT_REASONING_EFFORT
    openai_escalation_reasoning_effort: ReasoningEffort = DEFAULT_ESCALATION_REASONING_EFFORT
    openai_max_output_tokens: int = Field(default=DEFAULT_MAX_OUTPUT_TOKENS, gt=0)
    openai_escalation_max_output_tokens: int = Field(
        default=DEFAULT_ESCALATION_MAX_OUTPUT_TOKENS, gt=0
    )
    openai_max_output_tokens_ceiling: int = Field(default=DEFAULT_MAX_OUTPUT_TOKENS_CEILING, gt=0)
    openai_service_tier: ServiceTier | None = None
    openai_temperature: float | None = None
    openai_stream_idle_timeout_seconds: float = Field(
        default=DEFAULT_STREAM_IDLE_TIMEOUT, gt=0, le=3600
    )
    openai_max_tool_rounds: int = Field(default=DEFAULT_MAX_TOOL_ROUNDS, ge=1, le=20)
    openai_max_tool_calls_per_round: int = Field(
        default=DEFAULT_MAX_TOOL_CALLS_PER_ROUND, ge=1, le=50
    )
    openai_max_tool_output_chars_per_segment: int = Field(
        default=DEFAULT_MAX_TOOL_OUTPUT_CHARS_PER_SEGMENT, ge=1000
    )
    allowed_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    openai_api_style: ApiStyle = "openai"
    azure_openai_api_version: str | None = None
    azure_openai_deployments: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    model_prices: Annotated[PriceTable, NoDecode] = Field(default_factory=PriceTable.default)
    model_monthly_budget_usd: Decimal | None = Field(default=None, ge=0)
    openai_max_concurrency_per_key: int = Field(default=DEFAULT_MAX_CONCURRENCY_PER_KEY, gt=0)
    openai_tokens_per_minute_per_key: int | None = Field(default=None, gt=0)

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return split_secrets(value)

    @field_validator("openai_api_key")
    @classmethod
    def _no_placeholder_key(cls, value: list[SecretStr]) -> list[SecretStr]:
        return refuse_placeholders(value)

    @field_validator("openai_base_url")
    @classmethod
    def _openai_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("openai_escalation_model", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_models", mode="before")
    @classmethod
    def _models_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _efforts_fit_models(self) -> Self:
        """An effort the model refuses would fail every call: refuse it at load."""
        pairs = [("OPENAI_REASONING_EFFORT", self.openai_model, self.openai_reasoning_effort)]
        if self.openai_escalation_model:
            pairs.append(
                (
                    "OPENAI_ESCALATION_REASONING_EFFORT",
                    self.openai_escalation_model,
                    self.openai_escalation_reasoning_effort,
                )
            )
        for setting, model, effort in pairs:
            if problem := effort_problem(model, effort):
                raise ValueError(f"{setting}: {problem}")
        budgets = (self.openai_max_output_tokens, self.openai_escalation_max_output_tokens)
        if self.openai_max_output_tokens_ceiling < max(budgets):
            raise ValueError(
                "OPENAI_MAX_OUTPUT_TOKENS_CEILING is below OPENAI_MAX_OUTPUT_TOKENS or "
                "OPENAI_ESCALATION_MAX_OUTPUT_TOKENS"
            )
        return self

    @field_validator(
        "openai_reasoning_effort",
        "openai_escalation_reasoning_effort",
        "openai_api_style",
        mode="before",
    )
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("azure_openai_deployments", mode="before")
    @classmethod
    def _deployments(cls, value: object) -> object:
        return parse_deployments(value)

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices(cls, value: object) -> object:
        return parse_prices(value)

    def to_config(self) -> ModelConfig:
        return ModelConfig(
            keys=tuple(self.openai_api_key),
            base_url=self.openai_base_url,
            model=self.openai_model,
            escalation_model=self.openai_escalation_model,
            reasoning_effort=self.openai_reasoning_effort,
            escalation_reasoning_effort=self.openai_escalation_reasoning_effort,
            max_output_tokens=self.openai_max_output_tokens,
            escalation_max_output_tokens=self.openai_escalation_max_output_tokens,
            max_output_tokens_ceiling=self.openai_max_output_tokens_ceiling,
            service_tier=self.openai_service_tier,
            temperature=self.openai_temperature,
            read_timeout=self.openai_stream_idle_timeout_seconds,
            max_tool_rounds=self.openai_max_tool_rounds,
            max_tool_calls_per_round=self.openai_max_tool_calls_per_round,
            max_tool_output_chars_per_segment=self.openai_max_tool_output_chars_per_segment,
            allowed_models=frozenset(self.allowed_models) or None,
            api_style=self.openai_api_style,
            azure=AzureSettings(self.azure_openai_api_version, dict(self.azure_openai_deployments)),
            prices=self.model_prices,
            monthly_budget_usd=self.model_monthly_budget_usd,
            limiter=LimiterSettings(
                max_concurrency=self.openai_max_concurrency_per_key,
                tokens_per_window=self.openai_tokens_per_minute_per_key,
            ),
        )


def http_url(value: str) -> str:
    """An ``http(s)`` URL without its trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")
