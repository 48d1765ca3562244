"""The Responses API client: one strict-JSON call, with retries, shared limits and accounting.

``ModelClient.structured`` is the one call (``/codex fix`` uses it with its
own schema); ``workers.model.review.review_segment`` builds the review, with
its escalation, on it. Model-side problems never raise out of it: they become
a result with ``status`` ``failed``, ``incomplete`` or ``budget_exceeded`` and
a reason. Inside, ``_send`` raises the ``ModelError`` tree of ``errors.py``.

``store`` is always false, so nothing can be referenced by
``previous_response_id``: a tool round or a repair resends the earlier output
items (reasoning items with their ``encrypted_content``) in ``input``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import redis

from codex_common.logs import get_logger
from workers import metrics
from workers.model.config import ModelConfig, ReasoningEffort
from workers.model.errors import (
    ModelError,
    ModelHTTPError,
    ModelOutputError,
    ModelTimeout,
    ModelTransportError,
    QuotaExhausted,
    UnsupportedParameter,
)
from workers.model.ledger import BudgetLedger, CallContext, CallRecord
from workers.model.limits import Clock, KeyPool, SystemClock
from workers.model.result import ModelPrompt, StructuredResult, Tally
from workers.model.retry import backoff, server_delay, should_retry
from workers.model.tools import TOOL_DEFINITIONS, ToolHost, run_tool
from workers.model.wire import ModelResponse, Usage

log = get_logger("workers.model")

T = TypeVar("T")

_RATE_HEADERS = tuple(
    f"x-ratelimit-{part}-{kind}"
    for part in ("limit", "remaining", "reset")
    for kind in ("requests", "tokens")
)
_QUOTA_PARK_SECONDS = 3600.0


def _text_chars(items: list[dict[str, Any]]) -> int:
    return len(json.dumps(items))


class ModelClient:
    """Calls the Responses endpoint for reviews and fixes.

    ``http`` is used as given (its transport can be a test server's); ``redis``
    holds the shared limiter, key state and the ledger; ``clock`` and ``rng``
    make waiting deterministic in tests.
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        http: httpx.Client,
        redis_client: redis.Redis[bytes],
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._http = http
        self._redis = redis_client
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.keys = KeyPool(
            config.keys, redis_client, config.limiter, self._clock, prefix=config.redis_prefix
        )
        self.ledger = BudgetLedger(
            redis_client, prefix=config.redis_prefix, monthly_budget_usd=config.monthly_budget_usd
        )
        self._no_temperature_key = f"{config.redis_prefix}:no-temperature"
        self._no_temperature: set[str] = set()

    @classmethod
    def create(cls, config: ModelConfig, redis_client: redis.Redis[bytes]) -> ModelClient:
        """A client with its own ``httpx.Client`` using the configured timeouts."""
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        return cls(config, http=httpx.Client(timeout=timeout), redis_client=redis_client)

    def close(self) -> None:
        self._http.close()

    # -- public calls -------------------------------------------------------------------------

    def structured(
        self,
        prompt: ModelPrompt,
        call: CallContext,
        schema_name: str,
        schema: Mapping[str, Any],
        *,
        parse: Callable[[Any], T],
        tools: ToolHost | None = None,
        model: str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
    ) -> StructuredResult[T]:
        """One strict-JSON answer for ``prompt``, validated by ``parse``.

        ``parse`` receives the decoded JSON and raises ``ValueError`` (pydantic's
        ``ValidationError`` is one) when it breaks the contract; the model then
        gets one chance to repair it. Tool calls are answered by ``tools`` for at
        most ``max_tool_rounds`` rounds. An ``incomplete`` answer is retried once
        with a doubled output budget.
        """
        model = model or self.config.model
        tally = Tally(model)
        decision = self.ledger.check(call.repository, self._clock.time())
        if not decision.allowed:
            return tally.result("budget_exceeded", None, decision.message)
        max_output = self.config.max_output_tokens
        items: list[dict[str, Any]] = [{"role": "user", "content": prompt.input}]
        repaired = grown = False
        rounds = 0
        while True:
            body = self._body(
                model, prompt, items, schema_name, schema, max_output, tools, call, reasoning_effort
            )
            estimate = prompt.input_tokens + _text_chars(items[1:]) // 3 + max_output
            try:
                response = self._send(body, estimate, call, tally)
            except ModelError as exc:
                return tally.result(
                    "failed", None, f"{type(exc).__name__}: {exc}", transient=exc.retryable
                )
            if response.status == "incomplete":
                if response.incomplete_reason == "max_output_tokens" and not grown:
                    grown = True
                    max_output = min(max_output * 2, self.config.max_output_tokens_ceiling)
                    continue
                return tally.result(
                    "incomplete", None, f"incomplete: {response.incomplete_reason or 'unknown'}"
                )
            if response.status != "completed":
                return tally.result(
                    "failed", None, f"response status {response.status}", output_failed=True
                )
            if response.function_calls:
                if tools is None or rounds >= self.config.max_tool_rounds:
                    return tally.result(
                        "failed",
                        None,
                        f"tool calls beyond {self.config.max_tool_rounds} rounds",
                        output_failed=True,
                    )
                rounds += 1
                items += response.replay_items()
                items += [
                    {
                        "type": "function_call_output",
                        "call_id": fc.call_id,
                        "output": run_tool(tools, fc, max_chars=self.config.max_tool_output_chars),
                    }
                    for fc in response.function_calls
                ]
                continue
            try:
                if not response.text:
                    raise ModelOutputError(response.refusal or "the answer holds no output_text")
                return tally.result("ok", parse(json.loads(response.text)), None)
            except (ValueError, ModelOutputError) as exc:
                reason = f"invalid output: {str(exc)[:1500]}"
                if repaired or response.refusal:
                    return tally.result("failed", None, reason, output_failed=True)
                repaired = True
                items += response.replay_items()
                items.append(
                    {
                        "role": "user",
                        "content": (
                            f"Your previous answer was rejected ({reason}). Answer again with "
                            f"only a JSON object that satisfies the {schema_name} schema."
                        ),
                    }
                )

    # -- request building ---------------------------------------------------------------------

    def _body(
        self,
        model: str,
        prompt: ModelPrompt,
        items: list[dict[str, Any]],
        schema_name: str,
        schema: Mapping[str, Any],
        max_output: int,
        tools: ToolHost | None,
        call: CallContext,
        effort: ReasoningEffort | None,
    ) -> dict[str, Any]:
        config = self.config
        wire_model = config.azure.deployment(model) if config.api_style == "azure" else model
        body: dict[str, Any] = {
            "model": wire_model,
            "instructions": prompt.instructions,
            "input": items,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": schema_name,
                    "schema": dict(schema),
                    "strict": True,
                }
            },
            "reasoning": {"effort": effort or config.reasoning_effort},
            "max_output_tokens": max_output,
            "truncation": "auto",
            "store": False,
            "prompt_cache_key": prompt.cache_key,
            "metadata": {
                "repository": call.repository[:512],
                "pr_number": str(call.pr_number),
                "head_sha": call.head_sha[:64],
                "installation_id": str(call.installation_id),
                "delivery_id": call.delivery_id[:64],
            },
        }
        if config.service_tier is not None:
            body["service_tier"] = config.service_tier
        if config.temperature is not None and not self._refuses_temperature(wire_model):
            body["temperature"] = config.temperature
        if tools is not None:
            body["tools"] = TOOL_DEFINITIONS
            body["include"] = ["reasoning.encrypted_content"]
        return body

    def _refuses_temperature(self, model: str) -> bool:
        if model in self._no_temperature:
            return True
        if self._redis.sismember(self._no_temperature_key, model):
            self._no_temperature.add(model)
            return True
        return False

    def _auth(self, key_index: int) -> tuple[dict[str, str], dict[str, str]]:
        secret = self.keys.secret(key_index)
        if self.config.api_style == "azure":
            params = (
                {"api-version": self.config.azure.api_version}
                if self.config.azure.api_version
                else {}
            )
            return {"api-key": secret}, params
        return {"Authorization": f"Bearer {secret}"}, {}

    # -- the network edge ---------------------------------------------------------------------

    def _send(
        self, body: dict[str, Any], estimate: int, call: CallContext, tally: Tally
    ) -> ModelResponse:
        """POST once or more until an answer, a final error, or the retry budget runs out."""
        policy = self.config.retry
        failures = 0
        while True:
            lease = self.keys.acquire(estimate)
            headers, params = self._auth(lease.key_index)
            tally.attempts += 1
            started = time.perf_counter()
            actual: int | None = None
            error: ModelError
            answer_headers: Mapping[str, str] = {}
            try:
                try:
                    answer = self._http.post(
                        self.config.responses_url, json=body, headers=headers, params=params
                    )
                except httpx.TimeoutException as exc:
                    error = ModelTimeout(f"no answer in time: {type(exc).__name__}")
                except httpx.TransportError as exc:
                    error = ModelTransportError(f"{type(exc).__name__}: {exc}")
                else:
                    answer_headers = answer.headers
                    self.keys.observe(lease.key_index, answer.headers)
                    if answer.is_success:
                        response = self._parse(answer)
                        actual = response.usage.input_tokens + int(body["max_output_tokens"])
                        self._account(response, call, tally)
                        self._log(answer, body, lease.key_index, started, response.usage)
                        return response
                    error = ModelHTTPError.from_response(answer)
                    self._log(answer, body, lease.key_index, started, None)
            finally:
                self.keys.release(lease, actual)
            metrics.model_call_failed(str(body["model"]), call.repository)
            if isinstance(error, ModelHTTPError) and error.request_id:
                tally.request_ids.append(error.request_id)
            if (
                isinstance(error, UnsupportedParameter)
                and error.param == "temperature"
                and "temperature" in body
            ):
                # Reasoning models refuse temperature; remember it for every worker.
                self._no_temperature.add(str(body["model"]))
                self._redis.sadd(self._no_temperature_key, str(body["model"]))
                body = {name: value for name, value in body.items() if name != "temperature"}
                continue
            if isinstance(error, QuotaExhausted):
                self.keys.park(lease.key_index, _QUOTA_PARK_SECONDS)
                log.error("model key has no quota left; parked", key_index=lease.key_index)
                if len(self.keys.order()) > 0:  # raises when every key is parked
                    continue
            if not should_retry(error.retryable, answer_headers):
                raise error
            failures += 1
            if failures >= policy.max_attempts:
                raise error
            now = datetime.fromtimestamp(self._clock.time(), UTC)
            delay = server_delay(answer_headers, now=now)
            if delay is None:
                delay = backoff(failures - 1, policy, self._rng)
            if tally.waited + delay > policy.max_total_wait:
                raise error
            log.warning(
                "model call failed; retrying",
                error=str(error),
                retry=failures,
                delay_seconds=round(delay, 3),
            )
            tally.retries += 1
            tally.waited += delay
            metrics.waited("openai", delay)
            self._clock.sleep(delay)

    def _parse(self, answer: httpx.Response) -> ModelResponse:
        try:
            payload = answer.json()
        except ValueError as exc:
            raise ModelOutputError("the response body is not JSON") from exc
        return ModelResponse.from_json(payload, request_id=answer.headers.get("x-request-id"))

    def _account(self, response: ModelResponse, call: CallContext, tally: Tally) -> None:
        cost = self.config.prices.cost(response.model, response.usage)
        tally.usage = tally.usage + response.usage
        tally.cost += cost
        if response.request_id:
            tally.request_ids.append(response.request_id)
        self.ledger.record(
            call,
            CallRecord(
                model=response.model,
                request_id=response.request_id,
                usage=response.usage,
                cost_usd=cost,
                at=self._clock.time(),
            ),
        )

    def _log(
        self,
        answer: httpx.Response,
        body: Mapping[str, Any],
        key_index: int,
        started: float,
        usage: Usage | None,
    ) -> None:
        limits = {name: answer.headers[name] for name in _RATE_HEADERS if name in answer.headers}
        log.info(
            "model call",
            request_id=answer.headers.get("x-request-id"),
            status=answer.status_code,
            model=body.get("model"),
            key_index=key_index,
            latency_ms=round((time.perf_counter() - started) * 1000),
            tokens=usage.to_dict() if usage else None,
            rate_limits=limits,
        )
