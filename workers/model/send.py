"""The network edge of the model client: one request body to one ``ModelResponse``.

``Sender.send`` streams ``POST /responses`` and retries within the call's
budget. The order of decisions on a failed attempt:

1. a key the endpoint refuses (401, 403, ``insufficient_quota``) is parked and
   the attempt moves to the next key at once, without counting as a retry;
   when no key is left, ``NoUsableKey`` ends the call;
2. a 429 cools its key for the wait the answer names; when another key is
   fresh the attempt goes there at once, otherwise it sleeps that wait;
3. a 400 on ``temperature`` drops the parameter, for every worker, and resends;
4. anything else is retried when it is transient, with the server's wait or
   backoff, until ``RetryPolicy`` says stop.

Every attempt that reached the endpoint is accounted for: a completed stream
with its reported usage; a stream that ended early (stalled, cut) with what
was known (its request id, the input it sent, the output seen so far), marked
``ended_early`` in the ledger.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import httpx
import redis

from codex_common.logs import get_logger
from workers import metrics
from workers.model.config import ModelConfig
from workers.model.errors import (
    KeyRefused,
    KeyRejected,
    ModelError,
    ModelHTTPError,
    ModelTimeout,
    ModelTransportError,
    RateLimited,
    StreamBroken,
    StreamStalled,
    UnsupportedParameter,
)
from workers.model.ledger import BudgetLedger, CallContext, CallRecord
from workers.model.limits import Clock, KeyPool
from workers.model.result import Tally
from workers.model.retry import backoff, server_delay, should_retry
from workers.model.stream import StreamReader
from workers.model.wire import ModelResponse, Usage

log = get_logger("workers.model")

_RATE_HEADERS: Final = tuple(
    f"x-ratelimit-{part}-{kind}"
    for part in ("limit", "remaining", "reset")
    for kind in ("requests", "tokens")
)
_CHARS_PER_TOKEN: Final = 4


def park_reason(error: KeyRefused) -> str:
    """A short, stable reason for a parked key (a metric label and a log field)."""
    if isinstance(error, KeyRejected):
        return "unauthorized" if error.status == 401 else "forbidden"
    return "insufficient_quota"


class Sender:
    """Sends request bodies over the key pool and accounts for every attempt."""

    def __init__(
        self,
        config: ModelConfig,
        *,
        http: httpx.Client,
        redis_client: redis.Redis[bytes],
        keys: KeyPool,
        ledger: BudgetLedger,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.config = config
        self._http = http
        self._redis = redis_client
        self._keys = keys
        self._ledger = ledger
        self._clock = clock
        self._rng = rng
        self._no_temperature_key = f"{config.redis_prefix}:no-temperature"
        self._no_temperature: set[str] = set()

    def refuses_temperature(self, model: str) -> bool:
        """Whether a worker saw ``model`` refuse ``temperature`` (remembered in Redis)."""
        if model in self._no_temperature:
            return True
        if self._redis.sismember(self._no_temperature_key, model):
            self._no_temperature.add(model)
            return True
        return False

    def auth(self, key_index: int) -> tuple[dict[str, str], dict[str, str]]:
        secret = self._keys.secret(key_index)
        if self.config.api_style == "azure":
            version = self.config.azure.api_version
            return {"api-key": secret}, ({"api-version": version} if version else {})
        return {"Authorization": f"Bearer {secret}"}, {}

    def send(
        self, body: dict[str, Any], estimate: int, call: CallContext, tally: Tally
    ) -> ModelResponse:
        """Stream one answer, retrying as the module docstring says; raises ``ModelError``."""
        policy = self.config.retry
        failures = 0
        while True:
            lease = self._keys.acquire(estimate)
            tally.attempts += 1
            headers: Mapping[str, str] = {}
            actual: int | None = None
            try:
                response, headers = self._attempt(body, lease.key_index, call, tally)
                actual = response.usage.input_tokens + int(body["max_output_tokens"])
                return response
            except ModelHTTPError as exc:
                error: ModelError = exc
                headers = exc.headers
            except ModelError as exc:
                error = exc
            finally:
                self._keys.release(lease, actual)
            metrics.model_call_failed(str(body["model"]), call.repository)
            if isinstance(error, ModelHTTPError) and error.request_id:
                tally.request_ids.append(error.request_id)
            if isinstance(error, KeyRefused):
                self._keys.park(lease.key_index, park_reason(error))
                continue  # the next key at once; NoUsableKey from acquire when none is left
            if (
                isinstance(error, UnsupportedParameter)
                and error.param == "temperature"
                and "temperature" in body
            ):
                self._no_temperature.add(str(body["model"]))
                self._redis.sadd(self._no_temperature_key, str(body["model"]))
                body = {name: value for name, value in body.items() if name != "temperature"}
                continue
            if not should_retry(error.retryable, headers):
                raise error
            failures += 1
            if failures >= policy.max_attempts:
                raise error
            now = datetime.fromtimestamp(self._clock.time(), UTC)
            delay = server_delay(headers, now=now)
            if isinstance(error, RateLimited):
                self._keys.cool(lease.key_index, delay if delay is not None else 1.0)
                if self._keys.has_fresh_key(besides=lease.key_index):
                    log.warning("model key rate-limited; next key", key_index=lease.key_index)
                    tally.retries += 1
                    continue
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

    def _attempt(
        self, body: dict[str, Any], key_index: int, call: CallContext, tally: Tally
    ) -> tuple[ModelResponse, Mapping[str, str]]:
        """One streamed request; every outcome that reached the endpoint is accounted."""
        headers, params = self.auth(key_index)
        started = time.perf_counter()
        try:
            with self._http.stream(
                "POST",
                self.config.responses_url,
                json={**body, "stream": True},
                headers=headers,
                params=params,
            ) as answer:
                self._keys.observe(key_index, answer.headers)
                request_id = answer.headers.get("x-request-id")
                if not answer.is_success:
                    answer.read()
                    self._log(answer, body, key_index, started, None)
                    raise ModelHTTPError.from_response(answer)
                reader = StreamReader()
                try:
                    payload = reader.read(answer, self.config.read_timeout)
                except (StreamStalled, StreamBroken):
                    self._account_early(body, reader, request_id, call, tally)
                    raise
                response = ModelResponse.from_json(payload, request_id=request_id)
                self._account(response, call, tally)
                self._log(answer, body, key_index, started, response.usage)
                return response, answer.headers
        except httpx.TimeoutException as exc:
            raise ModelTimeout(f"no answer in time: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise ModelTransportError(f"{type(exc).__name__}: {exc}") from None

    def _account(self, response: ModelResponse, call: CallContext, tally: Tally) -> None:
        cost = self.config.prices.cost(response.model, response.usage, response.service_tier)
        self._record(call, tally, response.model, response.request_id, response.usage, cost)

    def _account_early(
        self,
        body: Mapping[str, Any],
        reader: StreamReader,
        request_id: str | None,
        call: CallContext,
        tally: Tally,
    ) -> None:
        """A stream that ended early may be billed: record what is known, marked as such."""
        model = reader.model or str(body["model"])
        sent = sum(len(str(part)) for part in (body.get("instructions"), body.get("input")))
        usage = Usage(
            input_tokens=math.ceil(sent / _CHARS_PER_TOKEN),
            output_tokens=math.ceil(reader.output_chars / _CHARS_PER_TOKEN),
        )
        cost = self.config.prices.cost(model, usage, self.config.service_tier)
        self._record(call, tally, model, request_id, usage, cost, ended_early=True)
        log.warning(
            "model stream ended early",
            request_id=request_id,
            response_id=reader.response_id,
            events=reader.events,
            estimated_tokens=usage.to_dict(),
        )

    def _record(
        self,
        call: CallContext,
        tally: Tally,
        model: str,
        request_id: str | None,
        usage: Usage,
        cost: Decimal,
        *,
        ended_early: bool = False,
    ) -> None:
        tally.usage = tally.usage + usage
        tally.cost += cost
        if request_id:
            tally.request_ids.append(request_id)
        self._ledger.record(
            call,
            CallRecord(
                model=model,
                request_id=request_id,
                usage=usage,
                cost_usd=cost,
                at=self._clock.time(),
                ended_early=ended_early,
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
