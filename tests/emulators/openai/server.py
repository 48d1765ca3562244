"""A Responses API emulator: real HTTP on 127.0.0.1, the real request and response types.

Every request is checked by ``validation`` (the official ``openai`` request type
plus the rules it cannot express, strict schemas among them); every 200 is built
by ``response`` and checked with ``openai.types.responses.Response`` before it is
sent. Scripted ``Rule``s (``answers``) decide the answer; per-key limits are
enforced and measured (peak concurrency, peak tokens per window); ``tokens``
counts input and models the prompt cache.

A request with ``stream: true`` is answered with server-sent events as the API
sends them (``events``), with the answer's scripted fault if it has one.
``models`` is the set of models the emulated API serves: ``GET /v1/models``
lists them, ``GET /v1/models/{id}`` and a request for any other model answer
404 ``model_not_found``. ``revoke(key)`` makes a key answer 401. A request with
``tool_choice: "none"`` never gets function calls: the scripted answer's text
(or an empty review) comes instead, as a model that may not call tools answers.

Routes: ``POST /v1/responses`` (Bearer key), ``POST /openai/v1/responses``
(Azure: ``api-key`` header), ``GET /v1/models``, ``GET /v1/models/{id}``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .answers import Answer, Rule, error, findings, rate_limited
from .events import event_stream, stream_events
from .response import response_body
from .tokens import PromptCache, count_tokens
from .validation import validate

__all__ = ["SERVED_MODELS", "KeyLimits", "ResponsesEmulator"]

# What the emulated API serves by default (no model OpenAI has shut down).
SERVED_MODELS = frozenset(
    {
        "gpt-5-codex-mini",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-5",
        "gpt-5.1",
        "gpt-5.2",
        "gpt-5.3-codex",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-nano",
    }
)


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
        self.models: set[str] = set(SERVED_MODELS)
        self.revoked: set[str] = set()
        self._cache = PromptCache()
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
                Route("/v1/models/{model}", self._model, methods=["GET"]),
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
            self.models = set(SERVED_MODELS)
            self.revoked.clear()
            self._cache.clear()

    def add(self, answer: Answer | Callable[[dict[str, Any]], Answer], **conditions: Any) -> Rule:
        rule = Rule(answer, **conditions)
        with self._lock:
            self.rules.append(rule)
        return rule

    def revoke(self, key: str) -> None:
        """From now on ``key`` answers 401 ``invalid_api_key``."""
        with self._lock:
            self.revoked.add(key)

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

    def _refused(self, key: str | None) -> Answer | None:
        if key is None or key not in self.keys or key in self.revoked:
            return error(401, "Incorrect API key provided.", code="invalid_api_key", param=None)
        return None

    @staticmethod
    def _bearer(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None

    def _model_object(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "openai"}

    async def _models(self, request: Request) -> JSONResponse:
        refused = self._refused(self._bearer(request))
        if refused is not None:
            return JSONResponse({"error": refused.error}, status_code=refused.status_code)
        data = [self._model_object(m) for m in sorted(self.models)]
        return JSONResponse({"object": "list", "data": data})

    async def _model(self, request: Request) -> JSONResponse:
        refused = self._refused(self._bearer(request))
        if refused is not None:
            return JSONResponse({"error": refused.error}, status_code=refused.status_code)
        model = request.path_params["model"]
        if model not in self.models:
            missing = _model_not_found(model)
            return JSONResponse({"error": missing.error}, status_code=404)
        return JSONResponse(self._model_object(model))

    async def _responses(self, request: Request) -> Response:
        return await self._handle(request, self._bearer(request))

    async def _azure_responses(self, request: Request) -> Response:
        # Azure names deployments, not models: any name is served.
        return await self._handle(request, request.headers.get("api-key"), deployments=True)

    async def _handle(
        self, request: Request, key: str | None, *, deployments: bool = False
    ) -> Response:
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
        elif (refused := self._refused(key)) is not None:
            answer = refused
        elif not deployments and body.get("model") not in self.models:
            answer = _model_not_found(str(body.get("model")))
        else:
            answer = validate(body, self.context_window) or self._admit(key or "", body)
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
        answer = chosen(body) if callable(chosen) else chosen
        if answer.calls and body.get("tool_choice") == "none":
            # A model told not to call tools answers instead.
            fallback = answer.output_text if answer.output_text is not None else None
            return Answer(output_text=fallback or findings([]).output_text)
        return answer

    def _finish(
        self,
        request: Request,
        key: str | None,
        body: dict[str, Any],
        request_id: str,
        answer: Answer,
        generation: int,
    ) -> Response:
        headers = {
            **self._rate_headers(key),
            "x-request-id": request_id,
            "openai-processing-ms": "12",
            **answer.headers,
        }
        if answer.status_code != 200:
            payload: dict[str, Any] = {"error": answer.error}
        else:
            with self._lock:
                cached = self._cache.use(body)
            payload = response_body(body, answer, cached)
        with self._lock:
            if generation == self._generation:
                self.requests.append(
                    Recorded(
                        request.url.path, key, body, answer.status_code, request_id, time.time()
                    )
                )
        if answer.status_code == 200 and body.get("stream"):
            events = stream_events(payload)
            return StreamingResponse(
                event_stream(events, answer), media_type="text/event-stream", headers=headers
            )
        return JSONResponse(payload, status_code=answer.status_code, headers=headers)


def _model_not_found(model: str) -> Answer:
    return error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
        param=None,
    )


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
