"""Are the configured models usable? Checked at worker start, in ``doctor``, and per repository.

``check_models`` is pure: the configured models (``OPENAI_MODEL``,
``OPENAI_ESCALATION_MODEL``, the models ``MODEL_PRICES`` and ``ALLOWED_MODELS``
name), today's date and the ids ``GET /v1/models`` returned give ``problems``
(the worker must not start: a model without a price, one OpenAI has shut
down, one the API does not serve to these keys) and ``warnings`` (a shutdown
within ``WARN_DAYS``). Each line names the setting and, when OpenAI published
one, the replacement. ``list_models`` is the network half: one ``GET /v1/models``
with the first key the API accepts.

``repository_choice_problems`` checks a repository's own ``model`` and
``reasoning_effort`` against the operator's settings before any call, so the
pull request is told instead of paying for a call that cannot be recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from workers.model.catalog import WARN_DAYS, ReasoningEffort, effort_problem, retirement
from workers.model.config import ModelConfig


@dataclass(frozen=True, slots=True)
class ModelCheck:
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    listed: bool
    """Whether ``GET /v1/models`` answered (False: only the built-in table was used)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def configured_models(config: ModelConfig) -> list[tuple[str, str]]:
    """``(setting, model)`` for every model the operator configured, each once."""
    pairs = [("OPENAI_MODEL", config.model)]
    if config.escalation_model:
        pairs.append(("OPENAI_ESCALATION_MODEL", config.escalation_model))
    pairs += [("MODEL_PRICES", model) for model in sorted(config.prices.custom)]
    pairs += [("ALLOWED_MODELS", model) for model in sorted(config.allowed_models or ())]
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for setting, model in pairs:
        if model not in seen:
            seen.add(model)
            unique.append((setting, model))
    return unique


def _retired(model: str, today: date) -> tuple[str | None, str | None]:
    """(problem, warning) from the published lifecycle of ``model``."""
    gone = retirement(model)
    if gone is None:
        return None, None
    if gone.shutdown <= today:
        return f"was shut down by OpenAI on {gone.shutdown}; use {gone.replacement}", None
    if gone.shutdown - today <= timedelta(days=WARN_DAYS):
        return None, f"shuts down on {gone.shutdown}; move to {gone.replacement}"
    return None, None


def check_models(config: ModelConfig, listed: Iterable[str] | None, today: date) -> ModelCheck:
    """Problems and warnings for the configured models (``listed``: None when not fetched)."""
    served = set(listed) if listed is not None else None
    problems: list[str] = []
    warnings: list[str] = []
    for setting, model in configured_models(config):
        problem, warning = _retired(model, today)
        if problem is not None:
            problems.append(f"{setting}: {model} {problem}")
            continue
        if warning is not None:
            warnings.append(f"{setting}: {model} {warning}")
        if not config.prices.has(model):
            problems.append(
                f"{setting}: no price for {model}; add it to MODEL_PRICES (USD per 1M tokens)"
            )
        if served is not None and model not in served:
            gone = retirement(model)
            hint = f"; OpenAI names {gone.replacement} as its replacement" if gone else ""
            problems.append(
                f"{setting}: {model} is not served to the configured keys (GET /v1/models){hint}"
            )
    return ModelCheck(tuple(problems), tuple(warnings), served is not None)


def list_models(config: ModelConfig, http: httpx.Client) -> set[str] | str:
    """The model ids ``GET /v1/models`` lists, or why they could not be read.

    Keys are tried in order; one the API refuses (401, 403) is skipped. Azure
    serves deployments, not models, so nothing is listed there (an empty reason).
    """
    if config.api_style == "azure":
        return ""
    url = config.base_url.rstrip("/") + "/models"
    refused: list[str] = []
    for number, key in enumerate(config.keys, start=1):
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"}
        try:
            answer = http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return f"GET {url} failed: {type(exc).__name__}"
        if answer.status_code in {401, 403}:
            refused.append(f"key {number} ({answer.status_code})")
            continue
        if not answer.is_success:
            return f"GET {url} answered {answer.status_code}"
        try:
            data = answer.json()["data"]
            return {str(item["id"]) for item in data}
        except (ValueError, KeyError, TypeError):
            return f"GET {url} answered something other than a model list"
    return "OPENAI_API_KEY: the API refused every key: " + ", ".join(refused)


def startup_check(config: ModelConfig, http: httpx.Client, today: date) -> ModelCheck:
    """``check_models`` with the live list; keys all refused is a problem, an outage a warning."""
    listed = list_models(config, http)
    if isinstance(listed, set):
        return check_models(config, listed, today)
    base = check_models(config, None, today)
    if listed.startswith("OPENAI_API_KEY"):
        return ModelCheck((*base.problems, listed), base.warnings, False)
    extra = (f"models not checked against the API: {listed}",) if listed else ()
    return ModelCheck(base.problems, (*base.warnings, *extra), False)


def repository_choice_problems(
    config: ModelConfig, model: str | None, effort: ReasoningEffort | None, today: date
) -> tuple[str, ...]:
    """What is wrong with a repository's ``model`` / ``reasoning_effort``, in plain words."""
    problems: list[str] = []
    if model is not None:
        allowed = config.allowed_models
        problem, _ = _retired(model, today)
        if problem is not None:
            problems.append(f"`model: {model}` {problem}.")
        elif allowed is not None and model not in allowed:
            names = ", ".join(f"`{name}`" for name in sorted(allowed))
            problems.append(
                f"`model: {model}` is not allowed by this bot's operator; allowed: {names}."
            )
        elif not config.prices.has(model):
            problems.append(
                f"`model: {model}` has no price in this bot's price table, so its cost could "
                f"not be tracked; remove the key to use `{config.model}`, or ask the operator "
                "to add the model to MODEL_PRICES."
            )
    refused = effort_problem(model or config.model, effort) if effort is not None else None
    if refused is not None and not problems:
        problems.append(f"`reasoning_effort: {effort}`: {refused}.")
    return tuple(problems)


def check_at_start(config: ModelConfig, *, today: date | None = None) -> ModelCheck:
    """``startup_check`` over a short-lived client: what ``codex-bot worker`` and ``doctor`` run."""
    timeout = httpx.Timeout(30.0, connect=config.connect_timeout)
    with httpx.Client(timeout=timeout) as http:
        return startup_check(config, http, today or date.today())
