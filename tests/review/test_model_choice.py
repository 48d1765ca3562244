"""A repository's own model choice is checked against the operator's settings before any call."""

from __future__ import annotations

import pytest

from tests.review.conftest import REPO, World
from workers.failures import describe
from workers.model.errors import NoUsableKey


def test_an_unpriced_repository_model_is_reported_on_the_pull_request_and_nothing_is_paid(
    world: World,
) -> None:
    world.github.commit(REPO, "main", {".github/codex-review.yml": "model: house-model-9\n"})

    outcome = world.run()

    assert outcome.status == "skipped"
    assert world.openai.requests == []  # no call made, nothing paid
    (comment,) = world.github.issue_comments(REPO, world.number)
    assert "`model: house-model-9` has no price" in comment["body"]
    assert "This pull request was not reviewed." in comment["body"]


def test_a_repository_effort_the_model_refuses_is_reported_before_any_call(
    world: World,
) -> None:
    world.github.commit(REPO, "main", {".github/codex-review.yml": "reasoning_effort: minimal\n"})

    assert world.run().status == "skipped"
    assert world.openai.requests == []
    (comment,) = world.github.issue_comments(REPO, world.number)
    assert "does not accept reasoning effort `minimal`" in comment["body"]


def test_every_key_refused_ends_the_review_with_the_one_error_the_check_run_shows(
    world: World,
) -> None:
    world.openai.revoke("sk-test-0")

    with pytest.raises(NoUsableKey) as raised:
        world.run()

    assert len(world.openai.requests) == 1  # the key is parked after its first 401
    failure = describe(raised.value)
    assert (failure.kind, failure.transient) == ("model_keys", False)
    assert "refused every configured key" in failure.text
