"""ASGI factory for uvicorn (``bot.asgi:app_from_env``, with ``factory=True``).

Each uvicorn worker process calls it once at start-up: settings are read from
the environment and the settings file ``codex-bot web`` chose then, never at import.
"""

from __future__ import annotations

import gc

from bot.config import WebSettings, load_settings
from bot.main import Receiver, create_app
from codex_common.logs import configure_logging
from codex_common.settings import find_env_file


def app_from_env() -> Receiver:
    settings = load_settings(WebSettings, env_file=find_env_file())
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=[s.get_secret_value() for s in settings.webhook_secret],
    )
    app = create_app(settings)
    # Everything alive now (modules, the app) lives as long as the process: keep it out
    # of the collector's sweeps, which otherwise walk it all on every full collection
    # and show up as latency spikes under load.
    gc.freeze()
    return app
