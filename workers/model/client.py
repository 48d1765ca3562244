"""The Responses API client: one strict-JSON call, with retries, shared limits and accounting.

``ModelClient.structured`` is the one call (``/codex fix`` uses it with its
own schema); ``workers.model.review.review_segment`` builds the review, with
its escalation, on it. Model-side problems never raise out of it: they become
a result with ``status`` ``failed``, ``incomplete`` or ``budget_exceeded`` and
a reason. The one exception is ``NoUsableKey``: with every key refused no call
can succeed, and the job fails with that message. The network edge, with its
key failover, streaming and retries, is ``workers.model.send``.

``store`` is always false, so nothing can be referenced by
``previous_response_id``: a tool round or a repair resends the earlier output
items (reasoning items with their ``encrypted_content``) in ``input``.
``truncation`` is ``disabled``: an input over the context window is a 400
``context_length_exceeded``, reported as ``incomplete`` so that the caller
splits the segment, never silently shortened from the front (which, in a
tool loop, would drop the diff itself).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import redis

from codex_common.logs import get_logger
from workers.model.catalog import accepts_temperature
from workers.model.config import ModelConfig, ReasoningEffort
from workers.model.errors import (
    ContextTooLong,
    ModelError,
    ModelNotFound,
    ModelOutputError,
    NoUsableKey,
)
from workers.model.ledger import BudgetLedger, CallContext
from workers.model.limits import Clock, KeyPool, SystemClock
from workers.model.result import ModelPrompt, StructuredResult, Tally
from workers.model.send import Sender
from workers.model.tools import ToolHost, run_tool, tool_definitions
from workers.model.wire import ModelResponse

log = get_logger("workers.model")

T = TypeVar("T")


def _text_chars(items: list[dict[str, Any]]) -> int:
    return len(json.dumps(items))


class ModelClient:
    """Calls the Responses endpoint for reviews and fixes.

    ``http`` is used as given (its transport can be a test server's; its read
    timeout is the stream's idle timeout); ``redis`` holds the shared limiter,
    key state and the ledger; ``clock`` and ``rng`` make waiting deterministic
    in tests.
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
        self._clock = clock or SystemClock()
        self.keys = KeyPool(
            config.keys, redis_client, config.limiter, self._clock, prefix=config.redis_prefix
        )
        self.ledger = BudgetLedger(
            redis_client, prefix=config.redis_prefix, monthly_budget_usd=config.monthly_budget_usd
        )
        self.sender = Sender(
            config,
            http=http,
            redis_client=redis_client,
            keys=self.keys,
            ledger=self.ledger,
            clock=self._clock,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not secrecy
        )

    @classmethod
    def create(cls, config: ModelConfig, redis_client: redis.Redis[bytes]) -> ModelClient:
        """A client with its own ``httpx.Client``: the read timeout is the stream idle timeout."""
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
        gets one chance to repair it. Tool calls are answered by ``tools``: at
        most ``max_tool_calls_per_round`` per turn and
        ``max_tool_output_chars_per_segment`` characters in all; after
        ``max_tool_rounds`` rounds the next request sends ``tool_choice: "none"``
        so the model must answer. An answer cut off at ``max_output_tokens`` is
        asked again with a doubled budget up to the ceiling, then reported
        ``incomplete`` (the caller splits); a ``content_filter`` stop is
        ``failed``; a ``status: failed`` with ``server_error`` is asked again once.
        """
        config = self.config
        model = model or config.model
        tally = Tally(model)
        if not config.prices.has(model):
            # Every answer is priced; an unpriced model would be paid for and not recorded.
            return tally.result(
                "failed", None, f"{config.setting_of(model)} names {model}, which has no price"
            )
        decision = self.ledger.check(call.repository, self._clock.time())
        if not decision.allowed:
            return tally.result("budget_exceeded", None, decision.message)
        max_output = config.output_budget(model)
        items: list[dict[str, Any]] = [{"role": "user", "content": prompt.input}]
        repaired = failed_again = False
        rounds = tool_chars = 0
        while True:
            last_round = tools is not None and rounds >= config.max_tool_rounds
            body = self._body(
                model, prompt, items, schema_name, schema, max_output, tools, call, reasoning_effort
            )
            if last_round:
                body["tool_choice"] = "none"
            estimate = prompt.input_tokens + _text_chars(items[1:]) // 3 + max_output
            try:
                response = self.sender.send(body, estimate, call, tally)
            except NoUsableKey:
                raise
            except ContextTooLong as exc:
                return tally.result("incomplete", None, f"context_length_exceeded: {exc.message}")
            except ModelNotFound as exc:
                message = (
                    f"{config.setting_of(model)} names {model}, which the API does not serve "
                    f"(404 model_not_found: {exc.message})"
                )
                log.error("model not found", model=model, setting=config.setting_of(model))
                return tally.result("failed", None, message)
            except ModelError as exc:
                return tally.result(
                    "failed", None, f"{type(exc).__name__}: {exc}", transient=exc.retryable
                )
            if response.status == "incomplete":
                reason = response.incomplete_reason or "unknown"
                if reason == "max_output_tokens" and max_output < config.max_output_tokens_ceiling:
                    max_output = min(max_output * 2, config.max_output_tokens_ceiling)
                    continue
                if reason == "content_filter":
                    return tally.result(
                        "failed", None, "the answer was stopped by OpenAI's content filter"
                    )
                return tally.result("incomplete", None, f"incomplete: {reason}")
            if response.status == "failed":
                code = response.error_code or "unknown"
                if code == "server_error" and not failed_again:
                    failed_again = True
                    continue
                return tally.result(
                    "failed",
                    None,
                    f"the response failed: {code}: {response.error_message or 'no message'}",
                    transient=code == "server_error",
                )
            if response.status != "completed":
                return tally.result(
                    "failed", None, f"response status {response.status}", output_failed=True
                )
            if response.function_calls:
                if tools is None or last_round:
                    # Exhausted rounds are not the model's inability to review: no escalation.
                    return tally.result(
                        "failed", None, f"the model kept calling tools after {rounds} rounds"
                    )
                rounds += 1
                items += response.replay_items()
                outputs, tool_chars = self._answer_tools(tools, response, tool_chars)
                items += outputs
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

    def _answer_tools(
        self, tools: ToolHost, response: ModelResponse, used: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One ``function_call_output`` per call (the API wants one for each), run only
        within the per-turn cap and the segment's output budget; returns the new total."""
        config = self.config
        outputs: list[dict[str, Any]] = []
        for number, fc in enumerate(response.function_calls):
            room = config.max_tool_output_chars_per_segment - used
            if number >= config.max_tool_calls_per_round:
                output = (
                    f"error: not run; at most {config.max_tool_calls_per_round} tool calls "
                    "are answered per turn"
                )
            elif room <= 0:
                output = "error: not run; the tool output budget of this review is used up"
            else:
                output = run_tool(tools, fc, max_chars=min(config.max_tool_output_chars, room))
                used += len(output)
            outputs.append(
                {"type": "function_call_output", "call_id": fc.call_id, "output": output}
            )
        return outputs, used

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
            "truncation": "disabled",
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
        if (
            config.temperature is not None
            and accepts_temperature(model)
            and not self.sender.refuses_temperature(wire_model)
        ):
            body["temperature"] = config.temperature
        if tools is not None:
            body["tools"] = tool_definitions(tools)
            body["include"] = ["reasoning.encrypted_content"]
        return body
