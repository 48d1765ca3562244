"""The receiver's app: ``create_app(settings)``.

Routes: ``POST /api/github/webhooks`` (``bot.webhook``, plain ASGI: the hot
path, dispatched by ``Receiver`` ahead of FastAPI), ``GET /healthz`` (process
alive), ``GET /readyz`` (broker reachable). ``GET /metrics`` (Prometheus) is
served by a listener of its own on ``METRICS_HOST:METRICS_PORT``, started with
the app's lifespan, never on this port. ``/docs``, ``/redoc`` and
``/openapi.json`` exist only with ``OPENAPI_DOCS`` on; the webhook route is
documented in the schema like the others although no FastAPI handler serves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Route

from bot.broker import BrokerClient, BrokerError
from bot.config import ConfigError, WebSettings
from bot.deliveries import DeliveryLedger
from bot.intake import Intake
from bot.limits import BodyBudget, HostileLog
from bot.metrics import Metrics, start_listener
from bot.queue import MessageFactory
from bot.routing import Identity
from bot.webhook import Receive, Scope, Send, WebhookEndpoint
from codex_common.jobs import COMMAND_QUEUE, REVIEW_QUEUE
from codex_common.logs import get_logger

WEBHOOK_PATH = "/api/github/webhooks"
log = get_logger("bot.main")

_WEBHOOK_RESPONSES: dict[str, dict[str, Any]] = {
    "200": {"description": "ping, logged event, or a duplicate delivery"},
    "202": {"description": "accepted (job_id) or ignored (reason)"},
    "400": {"description": "missing headers or undecodable body"},
    "401": {"description": "missing, forged or sha1-only signature"},
    "413": {"description": "body over the size cap"},
    "503": {"description": "queue unreachable; nothing recorded, redeliver later"},
}


class Receiver:
    """The ASGI app uvicorn serves: webhook deliveries go straight to their endpoint.

    ``POST /api/github/webhooks`` skips the framework's middleware and routing
    (a fixed per-request cost comparable to the delivery's own work); every
    other request, lifespan included, goes to the FastAPI ``app``, where the
    same endpoint is routed too (so other methods get 405, and the schema lists it).
    """

    def __init__(self, app: FastAPI, webhook: WebhookEndpoint) -> None:
        self.app = app
        self.webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == WEBHOOK_PATH
            and not scope.get("root_path")
        ):
            await self.webhook(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _flush_every(hostile: HostileLog) -> None:
    """Report refusals counted but not logged yet, once their interval has passed."""
    while True:
        await asyncio.sleep(hostile.interval)
        hostile.flush()


def create_app(settings: WebSettings) -> Receiver:
    """Build the receiver. Opens no connection: the broker is connected on first use."""
    if not settings.redis_url:
        raise ConfigError(
            "setting REDIS_URL or CELERY_BROKER_URL: required by the receiver "
            "(codex-bot serve starts a private one)"
        )
    try:
        client = BrokerClient.from_url(settings.redis_url, settings.broker_timeout_seconds)
    except ValueError as exc:
        raise ConfigError(f"setting REDIS_URL or CELERY_BROKER_URL: {exc}") from None
    messages = MessageFactory.protocol2()
    metrics = Metrics()
    intake = Intake(
        ledger=DeliveryLedger(client, ttl_seconds=settings.ledger_ttl_seconds),
        messages=messages,
        metrics=metrics,
    )
    limits = settings.limits()
    endpoint = WebhookEndpoint(
        secrets=settings.secret_values(),
        identity=Identity(app_id=settings.app_id, app_slug=settings.app_slug),
        intake=intake,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        budget=BodyBudget(max_bodies=limits.max_body_reads, max_bytes=limits.body_buffer_bytes),
        hostile=HostileLog(interval=limits.hostile_log_interval_seconds),
    )

    async def scrape() -> bytes:
        queues = (REVIEW_QUEUE, COMMAND_QUEUE)
        # Both in one round trip; a broker that is down simply reports no depth.
        replies = await asyncio.gather(
            *(client.checked("LLEN", queue) for queue in queues), return_exceptions=True
        )
        depths = {q: n for q, n in zip(queues, replies, strict=True) if isinstance(n, int)}
        return metrics.render(depths)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        listener = None
        if settings.metrics_port:
            try:
                listener = await start_listener(
                    settings.metrics_host, settings.metrics_port, scrape
                )
            except OSError as exc:
                # Metrics are not worth refusing deliveries for: the receiver runs on.
                log.error(
                    "metrics listener not started",
                    host=settings.metrics_host,
                    port=settings.metrics_port,
                    error=str(exc),
                )
        flusher = asyncio.create_task(_flush_every(endpoint.hostile))
        try:
            yield
        finally:
            flusher.cancel()
            if listener is not None:
                listener.close()
            endpoint.hostile.flush(force=True)
            await client.aclose()

    docs = settings.openapi_docs
    app = FastAPI(
        title="codex-review-bot receiver",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.router.routes.insert(0, Route(WEBHOOK_PATH, endpoint, methods=["POST"]))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await client.checked("PING")
        except BrokerError:
            return JSONResponse({"status": "broker unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema["paths"][WEBHOOK_PATH] = {
                "post": {
                    "summary": "Receive a GitHub webhook delivery",
                    "operationId": "receive_webhook",
                    "responses": _WEBHOOK_RESPONSES,
                }
            }
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return Receiver(app, endpoint)
