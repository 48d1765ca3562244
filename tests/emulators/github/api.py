"""What every resource module of the emulator shares: the route table, the request context,
GitHub's error answer, permissions, pagination and the stored-item helpers.

Handlers take a ``Ctx`` and return ``(status, payload)`` or ``(status, payload, headers)``;
they raise ``ApiError`` for GitHub's error answers, whose JSON carries ``message``,
``documentation_url``, ``status`` and (when given) ``errors`` like GitHub's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .state import Repo, State, Token

DOCS = "https://docs.github.com/rest"
MAX_BODY = 65_536


class ApiError(Exception):
    """One of GitHub's error answers; ``body()`` is its JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        documentation_url: str = DOCS,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def unprocessable(*errors: Any, message: str = "Unprocessable Entity") -> ApiError:
    return ApiError(422, message, list(errors))


def invalid_request(resource: str, problems: list[str]) -> ApiError:
    """The 422 GitHub answers to a body its schema refuses.

    Every problem appears in ``message`` and as an ``errors`` entry naming the
    operation (``resource``), the field and a code: ``missing_field`` for an absent
    required key, else ``invalid``.
    """
    errors = []
    for problem in problems:
        field, _, detail = problem.partition(": ")
        code = "missing_field" if detail == "Field required" else "invalid"
        errors.append({"resource": resource, "field": field, "code": code, "message": problem})
    return ApiError(422, "Invalid request.\n\n" + "\n".join(problems), errors)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Ctx:
    state: State
    base: str
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: Token | None
    app_id: int | None
    repo: Repo | None


Handler = Callable[[Ctx], tuple[int, Any] | tuple[int, Any, dict[str, str]]]
ROUTES: list[tuple[str, str, re.Pattern[str], Handler, str]] = []


def route(method: str, template: str, auth: str = "token") -> Callable[[Handler], Handler]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    pattern = pattern.replace("(?P<path>[^/]+)", "(?P<path>.+)")

    def register(fn: Handler) -> Handler:
        ROUTES.append((method, template, re.compile(f"^{pattern}$"), fn, auth))
        return fn

    return register


LEVEL = {"read": 1, "write": 2, "admin": 3}


def need(ctx: Ctx, permission: str, level: str) -> None:
    assert ctx.token is not None
    if LEVEL.get(ctx.token.permissions.get(permission, ""), 0) < LEVEL[level]:
        raise ApiError(403, "Resource not accessible by integration")


def actor(ctx: Ctx) -> dict[str, Any]:
    assert ctx.token is not None
    if ctx.token.user is not None:
        return ctx.state.user(ctx.token.user).to_json(ctx.base)
    inst = ctx.state.installations[ctx.token.installation_id]
    return ctx.state.apps[inst.app_id].bot.to_json(ctx.base)


def paginate(ctx: Ctx, path: str, items: list[Any]) -> tuple[int, Any, dict[str, str]]:
    per_page = max(1, min(100, int(ctx.query.get("per_page", "30"))))
    page = max(1, int(ctx.query.get("page", "1")))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []
    extra = {k: v for k, v in ctx.query.items() if k not in ("page", "per_page")}
    suffix = "".join(f"&{k}={quote(v)}" for k, v in extra.items())

    def link(p: int, rel: str) -> str:
        return f'<{ctx.base}{path}?per_page={per_page}&page={p}{suffix}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    return 200, chunk, ({"link": ", ".join(links)} if links else {})


def check_body_length(body: Any, resource: str) -> None:
    if isinstance(body, str) and len(body) > MAX_BODY:
        raise unprocessable(
            {
                "resource": resource,
                "code": "custom",
                "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)",
            },
            message="Validation Failed",
        )


def for_pull(items: list[dict[str, Any]], repo: str, number: int) -> list[dict[str, Any]]:
    return [i for i in items if i["_repo"] == repo and i["_number"] == number]


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def find_item(items: list[dict[str, Any]], repo: Repo | None, item_id: str) -> dict[str, Any]:
    assert repo is not None
    for item in items:
        if item["id"] == int(item_id) and item["_repo"] == repo.full_name:
            return item
    raise ApiError(404, "Not Found")
