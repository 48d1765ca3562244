"""Where a GitHub API lives on the web, for links in the text the bot posts."""

from __future__ import annotations

from urllib.parse import urlsplit


def web_host_for(api_url: str) -> str:
    """The web host of a GitHub API URL: ``api.github.com`` -> ``github.com``; a GitHub
    Enterprise Server's ``https://HOST/api/v3`` -> ``HOST``. Links to it stay clickable in
    posted text; links elsewhere are neutralised."""
    host = urlsplit(api_url).hostname or "github.com"
    return "github.com" if host == "api.github.com" else host
