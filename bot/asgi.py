"""ASGI factory for uvicorn (``bot.asgi:app_from_env``, with ``factory=True``).

Each uvicorn worker process calls it once at start-up: settings are read from
the environment then, never at import.
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.config import WebSettings, load_settings
from bot.main import create_app
from workers.logs import configure_logging


def app_from_env() -> FastAPI:
    settings = load_settings(WebSettings)
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=[s.get_secret_value() for s in settings.webhook_secret],
    )
    return create_app(settings)
