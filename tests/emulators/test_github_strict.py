"""The GitHub emulator refuses what GitHub refuses, with GitHub's status codes and shapes.

The bot's side of each rule is the suite that drives ``workers.github`` against
this emulator (tests/github, tests/e2e): it passes only if the bot's requests obey it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.emulators.github import GitHubEmulator
from tests.emulators.github.headers import API_HEADERS
from tests.github.conftest import World, seed
from workers.github import GitHubApp
from workers.redis_server import free_port


@pytest.fixture
def world(github_emulator: GitHubEmulator) -> World:
    return seed(github_emulator)


def _call(world: World, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
    token = world.github_app().installation_token(world.installation, "acme/widgets")
    headers = {**API_HEADERS, "Authorization": f"token {token}", **kw.pop("headers", {})}
    return requests.request(
        method,
        f"{world.emulator.base_url}/repos/acme/widgets{path}",
        json=body,
        headers=headers,
        timeout=5,
        **kw,
    )


def test_schema_violation_is_422_with_github_error_json(world: World) -> None:
    answer = _call(world, "POST", "/issues/comments/1/reactions", {})
    assert answer.status_code == 422
    error = answer.json()
    assert set(error) >= {"message", "errors", "documentation_url"}
    assert error["message"].startswith("Invalid request.")
    assert error["errors"] == [
        {
            "resource": "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            "field": "content",
            "code": "missing_field",
            "message": "content: Field required",
        }
    ]
    world.emulator.state.schema_violations.clear()


def test_unparsable_json_is_400(world: World) -> None:
    answer = _call(
        world,
        "POST",
        "/issues/1/comments",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "Problems parsing JSON"


def _review(world: World, comment: dict[str, Any]) -> requests.Response:
    body = {"commit_id": world.head, "event": "COMMENT", "comments": [comment]}
    return _call(world, "POST", f"/pulls/{world.number}/reviews", body)


def test_review_comment_position_is_checked(world: World) -> None:
    # app.py's patch: "@@ -7,7 +7,7 @@" then 3 context lines, "-line 10", "+line ten", ...
    both = _review(world, {"path": "app.py", "position": 4, "line": 10, "body": "x"})
    assert both.status_code == 422
    assert "position" in both.json()["errors"][0]
    outside = _review(world, {"path": "app.py", "position": 999, "body": "x"})
    assert outside.status_code == 422
    assert outside.json()["errors"] == ["Pull request review thread position is invalid"]
    header = _review(world, {"path": "new.py", "position": 0, "body": "x"})
    assert header.status_code == 422
    assert world.emulator.reviews("acme/widgets", world.number) == []

    by_position = _review(world, {"path": "app.py", "position": 5, "body": "on line ten"})
    assert by_position.status_code == 200
    (stored,) = world.emulator.review_comments("acme/widgets", world.number)
    assert (stored["position"], stored["side"], stored["line"]) == (5, "RIGHT", 10)
    by_line = _review(world, {"path": "app.py", "line": 10, "side": "LEFT", "body": "old"})
    assert by_line.status_code == 200
    assert world.emulator.review_comments("acme/widgets", world.number)[1]["position"] == 4


def test_check_run_on_unknown_sha_is_422(world: World) -> None:
    for sha in ("0" * 40, world.head[:7], "feature"):
        answer = _call(world, "POST", "/check-runs", {"name": "codex", "head_sha": sha})
        assert answer.status_code == 422
        assert answer.json()["message"] == f"No commit found for SHA: {sha}"
    assert world.emulator.state.check_runs == []
    ok = _call(world, "POST", "/check-runs", {"name": "codex", "head_sha": world.head})
    assert ok.status_code == 201


def test_check_run_on_a_fork_head_is_accepted(world: World) -> None:
    emulator = world.emulator
    emulator.fork("acme/widgets", "mallory/widgets")
    head = emulator.commit("mallory/widgets", "patch", {"evil.py": "x = 1\n"})
    emulator.create_pull("acme/widgets", "patch", head_repo="mallory/widgets")
    answer = _call(world, "POST", "/check-runs", {"name": "codex", "head_sha": head})
    assert answer.status_code == 201


def test_every_answer_carries_rate_limit_headers_and_a_request_id(world: World) -> None:
    first = _call(world, "GET", f"/pulls/{world.number}")
    second = _call(world, "GET", "/pulls/99")  # errors count and report too
    assert second.status_code == 404
    ids = set()
    for answer in (first, second):
        h = answer.headers
        assert h["x-ratelimit-limit"] == "5000"
        assert h["x-ratelimit-resource"] == "core"
        assert int(h["x-ratelimit-remaining"]) + int(h["x-ratelimit-used"]) == 5000
        assert time.time() < int(h["x-ratelimit-reset"]) <= time.time() + 3600
        assert len(h["x-github-request-id"].split(":")) == 5
        ids.add(h["x-github-request-id"])
    assert len(ids) == 2
    assert int(second.headers["x-ratelimit-used"]) == int(first.headers["x-ratelimit-used"]) + 1
    unauthenticated = requests.get(
        f"{world.emulator.base_url}/repos/acme/widgets", headers=API_HEADERS, timeout=5
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["x-ratelimit-limit"] == "60"


def test_primary_limit_is_enforced_per_installation(world: World) -> None:
    world.emulator.state.rate_limit = 3
    token = world.github_app().installation_token(world.installation, "acme/widgets")
    url = f"{world.emulator.base_url}/repos/acme/widgets/pulls/{world.number}"
    answers = [
        requests.get(url, headers={**API_HEADERS, "Authorization": f"token {token}"}, timeout=5)
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    refused = answers[-1]
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["message"] == (
        f"API rate limit exceeded for installation ID {world.installation}."
    )


def test_the_app_lists_its_deliveries_and_redelivers_a_failed_one(
    github_emulator: GitHubEmulator,
) -> None:
    app = github_emulator.create_app("codex-review")
    # Nothing listens there: GitHub records the attempt as failed (no status code).
    dead = f"http://127.0.0.1:{free_port()}/api/github/webhooks"
    github_emulator.point_webhook(dead, "a-secret-of-some-length")
    first = github_emulator.send_webhook("ping", b'{"zen": "x"}', guid="g-1")
    for n in range(3):
        github_emulator.send_webhook("ping", b"{}", guid=f"g-{n + 2}")
    assert first.status_code == 0

    gh_app = GitHubApp(app.id, app.private_key_pem, github_emulator.base_url)
    listed = list(gh_app.hook_deliveries(since=time.time() - 60))
    assert [d.guid for d in listed][-1] == "g-1"
    assert len(listed) == 4
    assert not any(d.succeeded for d in listed)

    gh_app.redeliver(first.id)
    github_emulator.state.hooks.settle()
    again = github_emulator.state.hooks.by_guid("g-1")
    assert [a.redelivery for a in again] == [False, True]
    assert len(list(gh_app.hook_deliveries(since=time.time() - 60))) == 5


def test_a_request_without_a_user_agent_is_403(world: World) -> None:
    answer = _call(world, "GET", "/pulls/1", headers={"User-Agent": ""})
    assert answer.status_code == 403
    assert "User-Agent" in answer.json()["message"]


def test_an_unsupported_api_version_is_400_even_when_not_strict(world: World) -> None:
    world.emulator.state.strict_headers = False
    answer = _call(world, "GET", "/pulls/1", headers={"X-GitHub-Api-Version": "2021-01-01"})
    assert answer.status_code == 400
    assert "2021-01-01" in answer.json()["message"]


def test_strict_headers_refuse_a_missing_version_or_media_type(world: World) -> None:
    no_version = _call(world, "GET", "/pulls/1", headers={"X-GitHub-Api-Version": None})
    assert no_version.status_code == 400
    assert "X-GitHub-Api-Version" in no_version.json()["message"]
    any_type = _call(world, "GET", "/pulls/1", headers={"Accept": "*/*"})
    assert any_type.status_code == 400
    world.emulator.state.strict_headers = False
    # GitHub itself serves both, at the default version.
    assert _call(world, "GET", "/pulls/1", headers={"X-GitHub-Api-Version": None}).ok
    assert _call(world, "GET", "/pulls/1", headers={"Accept": "*/*"}).ok
    recorded = world.emulator.requests[-1].headers
    assert recorded["accept"] == "*/*"
    assert recorded["user-agent"].startswith("python-requests")
