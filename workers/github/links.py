"""Links to GitHub's web pages in the text the bot posts.

A link is built from a page GitHub itself reported (the ``html_url`` of a pull
request, comment or commit in an API answer), or from ``GITHUB_WEB_URL`` when the
operator sets it (a proxy in front of an Enterprise Server, say). It is never
derived from the API's URL: an Enterprise Server may serve its pages on another
host, scheme or port than its API.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def page_of(html_url: str) -> str:
    """``html_url`` without its query and fragment: a comment's link gives its PR's page."""
    parts = urlsplit(html_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def pull_page(html_url: str, *, repository: str, number: int, web_url: str | None = None) -> str:
    """The web page of pull request ``number``: under ``web_url`` when set, else the page
    of ``html_url`` (the PR's own, or one of its comments')."""
    if web_url:
        return f"{web_url.rstrip('/')}/{repository}/pull/{number}"
    return page_of(html_url)


def link_host(url: str) -> str:
    """The host links may point to in posted text (others are neutralised): the host of a
    page GitHub reported, or of ``GITHUB_WEB_URL``."""
    return (urlsplit(url).hostname or "").lower()
