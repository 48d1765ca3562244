from __future__ import annotations

import json
from typing import Any

import pytest

from bot.errors import BadDelivery
from bot.events import WebhookEvent
from bot.routing import Identity, route
from codex_common.jobs import CommandJob, ReviewJob
from tests.bot.conftest import fixture_json

ME = Identity(app_id=123456, app_slug="codex-review")


def event(name: str, payload: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent(name=name, delivery_id="d-1", payload=payload)


def test_opened_pull_request_makes_a_review_job() -> None:
    decision = route(event("pull_request", fixture_json("pull_request.opened.json")), ME)
    assert decision.kind == "job"
    assert decision.task == "codex.review"
    assert decision.queue == "reviews"
    assert decision.job == ReviewJob(
        delivery_id="d-1",
        installation_id=41234567,
        repository="octo-org/hello-world",
        pr_number=1347,
        head_sha="6dcb09b5b57875f334f61aebed695e2e4193db5e",
        trigger="opened",
    )


def test_review_comment_command_pins_the_head() -> None:
    payload = fixture_json("pull_request_review_comment.created.json")
    decision = route(event("pull_request_review_comment", payload), ME)
    assert decision.queue == "commands"
    assert isinstance(decision.job, CommandJob)
    assert decision.job.head_sha == "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    assert (decision.job.command, decision.job.sender_login) == ("fix", "octocat")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p["comment"].update(body="LGTM, thanks"), "no /codex command"),
        (lambda p: p["comment"].update(body="> /codex fix\nquoted only"), "no /codex command"),
        (lambda p: p.update(action="edited"), "not handled"),
        (lambda p: p["sender"].update(type="Bot"), "bot"),
        (lambda p: p["comment"].update(performed_via_github_app={"id": 123456}), "this App"),
        (lambda p: p["sender"].update(login="codex-review[bot]"), "this App"),
    ],
)
def test_comments_that_make_no_job(mutate: Any, reason: str) -> None:
    payload = fixture_json("issue_comment.created.json")
    mutate(payload)
    decision = route(event("issue_comment", payload), ME)
    assert decision.kind == "ignored"
    assert reason in decision.reason


def test_another_apps_comment_still_counts_when_its_author_is_human() -> None:
    payload = fixture_json("issue_comment.created.json")
    payload["comment"]["performed_via_github_app"] = {"id": 999}
    assert route(event("issue_comment", payload), ME).kind == "job"


def test_unknown_help_command_is_routed_as_help() -> None:
    payload = fixture_json("issue_comment.created.json")
    payload["comment"]["body"] = "/codex frobnicate"
    decision = route(event("issue_comment", payload), ME)
    assert isinstance(decision.job, CommandJob)
    assert decision.job.command == "help"


@pytest.mark.parametrize(
    ("name", "payload", "kind"),
    [
        ("ping", {"zen": "x"}, "ping"),
        ("installation", {"action": "deleted"}, "logged"),
        ("installation_repositories", {"action": "added"}, "logged"),
        ("push", {"ref": "refs/heads/main"}, "ignored"),
        ("pull_request", {"action": "labeled"}, "ignored"),
    ],
)
def test_other_events(name: str, payload: dict[str, Any], kind: str) -> None:
    assert route(event(name, payload), ME).kind == kind


def test_a_payload_missing_routing_fields_is_bad() -> None:
    payload = fixture_json("pull_request.opened.json")
    del payload["installation"]
    with pytest.raises(BadDelivery, match="installation"):
        route(event("pull_request", payload), ME)
    wrong_type = fixture_json("pull_request.opened.json")
    wrong_type["pull_request"]["number"] = "many"
    with pytest.raises(BadDelivery, match=r"pull_request\.number"):
        route(event("pull_request", wrong_type), ME)


def test_from_http_decodes_after_verifying() -> None:
    from bot.signatures import sign

    body = json.dumps({"zen": "x"}).encode()
    headers = {
        "x-github-event": "ping",
        "X-GitHub-Delivery": "abc",
        "X-Hub-Signature-256": sign(b"k" * 8, body),
    }
    decoded = WebhookEvent.from_http(headers, body, [b"k" * 8])
    assert (decoded.name, decoded.delivery_id, decoded.payload) == ("ping", "abc", {"zen": "x"})
    headers["X-GitHub-Delivery"] = "bad\nid"
    with pytest.raises(BadDelivery):
        WebhookEvent.from_http(headers, body, [b"k" * 8])
