"""A Responses API emulator: real HTTP on 127.0.0.1, the real request and response types.

Every request is validated with the official ``openai`` package's
``ResponseCreateParamsNonStreaming`` plus the rules those types cannot express
(unknown top-level keys, ``temperature`` on reasoning models, strict schemas,
stateless replay with ``store: false``, context length with truncation
disabled). Every answer is checked with ``openai.types.responses.Response``
before it is sent. Scripted ``Rule``s decide the answer; per-key limits are
enforced and measured (peak concurrency, peak tokens per window).

Routes: ``POST /v1/responses`` (Bearer key), ``POST /openai/v1/responses``
(Azure: ``api-key`` header), ``GET /v1/models``.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from openai.types.responses import Response
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseCreateParamsNonStreaming)
_KNOWN_KEYS = frozenset(ResponseCreateParamsNonStreaming.__annotations__)
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4", "codex")


def count_tokens(body: dict[str, Any]) -> int:
    """The emulator's token estimate: a quarter of the characters of all text sent.

    Counts ``instructions`` and every string inside ``input`` (message contents,
    tool outputs and arguments), not the JSON around them.
    """

    def chars(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, list):
            return sum(chars(item) for item in value)
        if isinstance(value, dict):
            return sum(
                chars(item)
                for key, item in value.items()
                if key in {"content", "text", "output", "arguments"}
            )
        return 0

    total = len(body.get("instructions") or "") + chars(body.get("input"))
    return math.ceil(total / 4)


# -- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a rule produces: either a model turn (``output_text``/``calls``) or an HTTP error."""

    status_code: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    output_text: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    response_status: str = "completed"
    delay: float = 0.0
    reasoning_tokens: int = 32


def findings(items: list[dict[str, Any]], *, needs_deeper: bool = False) -> Answer:
    return text(json.dumps({"findings": items, "needs_deeper_analysis": needs_deeper}))


def text(output_text: str) -> Answer:
    return Answer(output_text=output_text)


def incomplete(partial: str = '{"findings": [') -> Answer:
    return Answer(output_text=partial, response_status="incomplete")


def function_call(name: str, **arguments: Any) -> Answer:
    return Answer(calls=((name, arguments),))


def error(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    type_: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    return Answer(
        status_code=status_code,
        error={"message": message, "type": type_, "param": param, "code": code},
        headers=headers or {},
    )


def rate_limited(
    *,
    retry_after_ms: int | None = None,
    retry_after: str | None = None,
    reset_tokens: str | None = "1s",
    reset_requests: str | None = None,
) -> Answer:
    headers: dict[str, str] = {}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if reset_tokens is not None:
        headers["x-ratelimit-reset-tokens"] = reset_tokens
        headers["x-ratelimit-remaining-tokens"] = "0"
    if reset_requests is not None:
        headers["x-ratelimit-reset-requests"] = reset_requests
        headers["x-ratelimit-remaining-requests"] = "0"
    return error(
        429,
        "Rate limit reached for requests. Please try again later.",
        code="rate_limit_exceeded",
        type_="requests",
        headers=headers,
    )


def quota_exhausted() -> Answer:
    return error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        code="insufficient_quota",
        type_="insufficient_quota",
    )


def slow(seconds: float, then: Answer | None = None) -> Answer:
    base = then or findings([])
    return Answer(**{**base.__dict__, "delay": seconds})


@dataclass
class Rule:
    """Answer with ``answer`` for requests matching every given condition, ``times`` times.

    ``match`` is a substring of the instructions or of any input text; ``model``
    and ``key`` select by model name and API key. Rules are tried in order.
    """

    answer: Answer | Callable[[dict[str, Any]], Answer]
    match: str | None = None
    model: str | None = None
    key: str | None = None
    times: int | None = None
    used: int = 0

    def applies(self, body: dict[str, Any], key: str, haystack: str) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.model is not None and body.get("model") != self.model:
            return False
        if self.key is not None and key != self.key:
            return False
        return self.match is None or self.match in haystack


@dataclass(frozen=True)
class KeyLimits:
    max_concurrency: int = 1_000
    tokens_per_window: int = 10_000_000
    requests_per_window: int = 100_000
    window_seconds: float = 60.0


@dataclass
class KeyStats:
    in_flight: int = 0
    peak_concurrency: int = 0
    peak_window_tokens: int = 0
    violations: int = 0
    log: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Recorded:
    path: str
    key: str | None
    body: dict[str, Any]
    status_code: int
    request_id: str
    at: float


# -- the emulator ----------------------------------------------------------------------------


class ResponsesEmulator:
    """Scripted Responses API. ``serve()`` starts it on a free port in a thread."""

    def __init__(
        self,
        *,
        keys: tuple[str, ...] = ("sk-test-0", "sk-test-1", "sk-test-2"),
        context_window: int = 400_000,
    ) -> None:
        self.keys = keys
        self.context_window = context_window
        self.rules: list[Rule] = []
        self.limits: dict[str, KeyLimits] = {}
        self.stats: dict[str, KeyStats] = {}
        self.requests: list[Recorded] = []
        self._cache: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        # Requests still running when a test resets the emulator belong to the old test:
        # they neither count against the new limits nor appear in the new records.
        self._generation = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/openai/v1/responses", self._azure_responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openai/v1"

    # scripting

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self.rules.clear()
            self.limits.clear()
            self.stats.clear()
            self.requests.clear()
            self._cache.clear()

    def add(self, answer: Answer | Callable[[dict[str, Any]], Answer], **conditions: Any) -> Rule:
        rule = Rule(answer, **conditions)
        with self._lock:
            self.rules.append(rule)
        return rule

    def limit(self, key: str, limits: KeyLimits) -> None:
        with self._lock:
            self.limits[key] = limits

    def key_stats(self, key: str) -> KeyStats:
        with self._lock:
            return self.stats.setdefault(key, KeyStats())

    # serving

    def serve(self) -> ResponsesEmulator:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", ws="none", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Responses emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    # handlers

    async def _models(self, request: Request) -> JSONResponse:
        models = ["gpt-5-codex-mini", "gpt-5-codex", "gpt-5-mini", "gpt-5"]
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "openai"}
                    for m in models
                ],
            }
        )

    async def _responses(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        return await self._handle(request, key)

    async def _azure_responses(self, request: Request) -> JSONResponse:
        return await self._handle(request, request.headers.get("api-key"))

    async def _handle(self, request: Request, key: str | None) -> JSONResponse:
        request_id = f"req_{uuid.uuid4().hex}"
        generation = self._generation
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        answer: Answer | None
        if not isinstance(body, dict):
            body = {}
            answer = error(400, "We could not parse the JSON body of your request.")
        elif key is None or key not in self.keys:
            answer = error(401, "Incorrect API key provided.", code="invalid_api_key", param=None)
        else:
            answer = self._validate(body) or self._admit(key, body)
        if answer is not None:
            return self._finish(request, key, body, request_id, answer, generation)
        try:
            answer = self._script(body, key or "")
            if answer.delay:
                await asyncio.sleep(answer.delay)
            return self._finish(request, key, body, request_id, answer, generation)
        finally:
            with self._lock:
                if generation == self._generation:
                    self.stats[key or ""].in_flight -= 1

    def _validate(self, body: dict[str, Any]) -> Answer | None:
        unknown = sorted(set(body) - _KNOWN_KEYS)
        if unknown:
            return error(
                400, f"Unknown parameter: '{unknown[0]}'.", code="unknown_parameter",
                param=unknown[0],
            )  # fmt: skip
        try:
            _REQUEST_ADAPTER.validate_python(body, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            param = ".".join(str(part) for part in first["loc"])
            return error(400, f"Invalid value for '{param}': {first['msg']}", param=param)
        model = str(body["model"])
        if "temperature" in body and model.startswith(REASONING_PREFIXES):
            return error(
                400,
                "Unsupported parameter: 'temperature' is not supported with this model.",
                code="unsupported_parameter",
                param="temperature",
            )
        if body.get("stream"):
            return error(400, "The emulator does not stream.", param="stream")
        if body.get("previous_response_id") is not None:
            return error(
                400,
                f"Previous response with id '{body['previous_response_id']}' not found.",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        given = body.get("input")
        items: list[dict[str, Any]] = given if isinstance(given, list) else []
        calls = {item.get("call_id") for item in items if item.get("type") == "function_call"}
        for item in items:
            if item.get("type") == "reasoning" and not item.get("encrypted_content"):
                return error(
                    404,
                    f"Item with id '{item.get('id')}' not found. Items are not persisted when "
                    "`store` is set to false.",
                    param="input",
                )
            if item.get("type") == "function_call_output" and item.get("call_id") not in calls:
                return error(
                    400,
                    f"No tool call found for function call output with call_id "
                    f"{item.get('call_id')}.",
                    param="input",
                )
        fmt = (body.get("text") or {}).get("format") or {}
        if fmt.get("type") == "json_schema" and fmt.get("strict"):
            problem = _strict_problem(fmt.get("schema") or {})
            if problem:
                return error(
                    400, f"Invalid schema for response_format '{fmt.get('name')}': {problem}",
                    param="text.format.schema",
                )  # fmt: skip
        too_long = count_tokens(body) > self.context_window
        if body.get("truncation", "disabled") == "disabled" and too_long:
            return error(
                400,
                "Your input exceeds the context window of this model.",
                code="context_length_exceeded",
                param="input",
            )
        return None

    def _admit(self, key: str, body: dict[str, Any]) -> Answer | None:
        """Count the request against its key's limits; a 429 with real headers when over."""
        now = time.monotonic()
        tokens = count_tokens(body) + int(body.get("max_output_tokens") or 0)
        with self._lock:
            limits = self.limits.get(key, KeyLimits())
            stats = self.stats.setdefault(key, KeyStats())
            stats.log = [(at, n) for at, n in stats.log if at > now - limits.window_seconds]
            used = sum(n for _, n in stats.log)
            over = (
                stats.in_flight + 1 > limits.max_concurrency
                or used + tokens > limits.tokens_per_window
                or len(stats.log) + 1 > limits.requests_per_window
            )
            if over:
                stats.violations += 1
                reset = stats.log[0][0] + limits.window_seconds - now if stats.log else 0.0
                return rate_limited(reset_tokens=f"{max(reset, 0.001):.3f}s")
            stats.log.append((now, tokens))
            stats.in_flight += 1
            stats.peak_concurrency = max(stats.peak_concurrency, stats.in_flight)
            stats.peak_window_tokens = max(stats.peak_window_tokens, used + tokens)
        return None

    def _rate_headers(self, key: str | None) -> dict[str, str]:
        with self._lock:
            limits = self.limits.get(key or "", KeyLimits())
            stats = self.stats.get(key or "", KeyStats())
            now = time.monotonic()
            live = [(at, n) for at, n in stats.log if at > now - limits.window_seconds]
            used = sum(n for _, n in live)
            reset = (live[0][0] + limits.window_seconds - now) if live else 0.0
        return {
            "x-ratelimit-limit-requests": str(limits.requests_per_window),
            "x-ratelimit-remaining-requests": str(max(limits.requests_per_window - len(live), 0)),
            "x-ratelimit-reset-requests": _go_duration(reset),
            "x-ratelimit-limit-tokens": str(limits.tokens_per_window),
            "x-ratelimit-remaining-tokens": str(max(limits.tokens_per_window - used, 0)),
            "x-ratelimit-reset-tokens": _go_duration(reset),
        }

    def _script(self, body: dict[str, Any], key: str) -> Answer:
        haystack = "\n".join([str(body.get("instructions") or ""), json.dumps(body.get("input"))])
        with self._lock:
            for rule in self.rules:
                if rule.applies(body, key, haystack):
                    rule.used += 1
                    chosen = rule.answer
                    break
            else:
                chosen = findings([])
        return chosen(body) if callable(chosen) else chosen

    def _finish(
        self,
        request: Request,
        key: str | None,
        body: dict[str, Any],
        request_id: str,
        answer: Answer,
        generation: int,
    ) -> JSONResponse:
        headers = {
            **self._rate_headers(key),
            "x-request-id": request_id,
            "openai-processing-ms": "12",
            **answer.headers,
        }
        if answer.status_code != 200:
            payload: dict[str, Any] = {"error": answer.error}
        else:
            payload = self._response_body(body, answer)
        with self._lock:
            if generation == self._generation:
                self.requests.append(
                    Recorded(
                        request.url.path, key, body, answer.status_code, request_id, time.time()
                    )
                )
        return JSONResponse(payload, status_code=answer.status_code, headers=headers)

    def _response_body(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        include = body.get("include") or []
        output: list[dict[str, Any]] = [
            {
                "id": f"rs_{uuid.uuid4().hex}",
                "type": "reasoning",
                "summary": [],
                **(
                    {"encrypted_content": f"enc_{uuid.uuid4().hex}"}
                    if "reasoning.encrypted_content" in include
                    else {}
                ),
            }
        ]
        out_text = ""
        for name, arguments in answer.calls:
            output.append(
                {
                    "id": f"fc_{uuid.uuid4().hex}",
                    "type": "function_call",
                    "call_id": f"call_{uuid.uuid4().hex[:12]}",
                    "name": name,
                    "arguments": json.dumps(arguments),
                    "status": "completed",
                }
            )
        if answer.output_text is not None:
            out_text = answer.output_text
            message_status = "incomplete" if answer.response_status == "incomplete" else "completed"
            output.append(
                {
                    "id": f"msg_{uuid.uuid4().hex}",
                    "type": "message",
                    "role": "assistant",
                    "status": message_status,
                    "content": [{"type": "output_text", "text": out_text, "annotations": []}],
                }
            )
        input_tokens = count_tokens(body)
        instructions = str(body.get("instructions") or "")
        cache_id = (str(body.get("prompt_cache_key") or ""), instructions)
        with self._lock:
            cached = min(len(instructions) // 4, input_tokens) if cache_id in self._cache else 0
            self._cache.add(cache_id)
        output_tokens = (
            math.ceil(len(out_text) / 4) + answer.reasoning_tokens + 8 * len(answer.calls)
        )
        if answer.response_status == "incomplete":
            output_tokens = int(body.get("max_output_tokens") or output_tokens)
        response = {
            "id": f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "created_at": time.time(),
            "model": body["model"],
            "status": answer.response_status,
            "error": None,
            "incomplete_details": (
                {"reason": "max_output_tokens"} if answer.response_status == "incomplete" else None
            ),
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
            "service_tier": body.get("service_tier") or "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": 1.0,
            "truncation": body.get("truncation", "disabled"),
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
                "total_tokens": input_tokens + output_tokens,
            },
        }
        # An answer the SDK could not parse would test nothing: check before sending.
        Response.model_validate(response)
        return response


def _strict_problem(schema: dict[str, Any], path: str = "") -> str | None:
    """What makes ``schema`` unusable as a strict structured-output schema, if anything."""
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return f"'additionalProperties' is required to be false at '{path or '/'}'"
        missing = sorted(set(properties) - set(schema.get("required") or []))
        if missing:
            return f"'required' must include every property at '{path or '/'}': missing {missing}"
        for name, sub in properties.items():
            problem = _strict_problem(sub, f"{path}/{name}")
            if problem:
                return problem
    items = schema.get("items")
    if isinstance(items, dict):
        return _strict_problem(items, f"{path}/items")
    return None


def _go_duration(seconds: float) -> str:
    """``6m0s`` / ``12ms`` / ``1.5s`` like the real headers."""
    if seconds < 1:
        return f"{max(int(seconds * 1000), 0)}ms"
    minutes, rest = divmod(seconds, 60)
    if minutes:
        return f"{int(minutes)}m{rest:.0f}s"
    return f"{rest:.3g}s"


def serving(**kwargs: Any) -> Iterator[ResponsesEmulator]:
    emulator = ResponsesEmulator(**kwargs).serve()
    try:
        yield emulator
    finally:
        emulator.stop()
