"""The receiver's FastAPI app: ``create_app(settings)``.

Routes: ``POST /api/github/webhooks``, ``GET /healthz`` (process alive),
``GET /readyz`` (broker reachable), ``GET /metrics`` (Prometheus). The webhook
handler is thin: read the capped raw body, ``WebhookEvent.from_http`` (signature
first), ``route``, and for a job ``Intake.accept`` off the event loop. Errors of
the boundary (``bot.errors``) become responses in one exception handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import redis
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.config import ConfigError, WebSettings
from bot.errors import PayloadTooLarge, WebhookError, status_of
from bot.events import WebhookEvent
from bot.intake import Intake
from bot.ledger import DeliveryLedger
from bot.metrics import Metrics
from bot.queue import Enqueuer
from bot.routing import Identity, route
from workers.celery_app import create_celery
from workers.jobs import COMMAND_QUEUE, REVIEW_QUEUE
from workers.logs import get_logger

WEBHOOK_PATH = "/api/github/webhooks"
log = get_logger("bot.main")

_WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "ping, logged event, or a duplicate delivery"},
    202: {"description": "accepted (job_id) or ignored (reason)"},
    400: {"description": "missing headers or undecodable body"},
    401: {"description": "missing, forged or sha1-only signature"},
    409: {"description": "the same delivery is being accepted right now"},
    413: {"description": "body over the size cap"},
    503: {"description": "queue unreachable; nothing recorded, redeliver later"},
}


def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def get_intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
IntakeDep = Annotated[Intake, Depends(get_intake)]


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing anything over ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: WebSettings) -> FastAPI:
    """Build the receiver. Opens no connection: clients connect lazily on first use."""
    if not settings.redis_url:
        raise ConfigError(
            "setting REDIS_URL or CELERY_BROKER_URL: required by the receiver "
            "(codex-bot serve starts a private one)"
        )
    timeout = settings.broker_timeout_seconds
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
    celery = create_celery(settings.redis_url, publish_timeout=timeout, main="codex-web")
    # No reconnection loop when publishing: one bounded attempt, then 503.
    celery.conf.broker_transport_options = {
        **celery.conf.broker_transport_options,
        "max_retries": 0,
    }

    def depth(queue: str) -> int | None:
        try:
            return int(client.llen(queue))
        except redis.RedisError:
            return None

    metrics = Metrics(depth, (REVIEW_QUEUE, COMMAND_QUEUE))
    intake = Intake(
        ledger=DeliveryLedger(client, ttl_seconds=settings.ledger_ttl_seconds),
        enqueuer=Enqueuer(celery),
        metrics=metrics,
    )
    identity = Identity(app_id=settings.app_id, app_slug=settings.app_slug)
    secrets = settings.secret_values()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        client.close()
        celery.close()

    app = FastAPI(title="codex-review-bot receiver", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.intake = intake
    app.state.metrics = metrics

    @app.exception_handler(WebhookError)
    async def _webhook_error(request: Request, exc: WebhookError) -> JSONResponse:
        status = status_of(exc)
        event = request.headers.get("x-github-event") if status != 401 else None
        metrics.deliveries.labels(event or "unverified", f"rejected_{status}").inc()
        log.warning(
            "delivery refused",
            status=status,
            error=exc.detail,
            delivery_id=request.headers.get("x-github-delivery"),
        )
        headers = {"Retry-After": "30"} if status == 503 else None
        return JSONResponse({"error": exc.detail}, status_code=status, headers=headers)

    @app.post(WEBHOOK_PATH, responses=_WEBHOOK_RESPONSES)
    async def receive_webhook(request: Request, settings: SettingsDep, intake: IntakeDep) -> Any:
        body = await read_capped(request, settings.max_body_bytes)
        event = WebhookEvent.from_http(request.headers, body, secrets)
        with structlog.contextvars.bound_contextvars(
            delivery_id=event.delivery_id, github_event=event.name
        ):
            decision = route(event, identity)
            if decision.kind != "job":
                status = 202 if decision.kind == "ignored" else 200
                metrics.deliveries.labels(event.name, decision.kind).inc()
                if decision.kind == "logged":
                    log.info("event logged", reason=decision.reason)
                return JSONResponse(
                    {"status": decision.kind, "reason": decision.reason}, status_code=status
                )
            accepted = await run_in_threadpool(intake.accept, event.delivery_id, decision)
            outcome = "duplicate" if accepted.duplicate else "accepted"
            metrics.deliveries.labels(event.name, outcome).inc()
            log.info("delivery " + outcome, job_id=accepted.job_id, reason=decision.reason)
            return JSONResponse(
                {"status": outcome, "job_id": accepted.job_id, "delivery_id": event.delivery_id},
                status_code=200 if accepted.duplicate else 202,
            )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await run_in_threadpool(client.ping)
        except redis.RedisError:
            return JSONResponse({"status": "broker unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def prometheus() -> Response:
        data = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    return app
