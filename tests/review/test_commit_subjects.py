"""Commit subjects for the prompt: which pages are read, and the emulator's endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import requests
from githubkit_schemas.v2022_11_28 import models
from pydantic import TypeAdapter

from tests.emulators.github import GitHubEmulator
from tests.emulators.github.headers import API_HEADERS
from tests.github.conftest import seed
from workers.github.client import GitHubClient
from workers.github.errors import ServerError
from workers.github.models import PullRequest
from workers.review.inputs import commit_messages


@dataclass
class Commits:
    """A pull request's commits as GitHub lists them: the first 250, oldest first."""

    total: int
    fail: bool = False
    pages: list[tuple[int, int]] = field(default_factory=list)

    def list_pull_commit_messages(
        self, number: int, *, page: int = 1, per_page: int = 100
    ) -> tuple[str, ...]:
        self.pages.append((page, per_page))
        if self.fail:
            raise ServerError("GitHub is down", status=502)
        listed = [f"commit {n}\n\nbody" for n in range(min(self.total, 250))]
        return tuple(listed[(page - 1) * per_page : page * per_page])


def _pull(commits: int) -> PullRequest:
    return PullRequest(
        number=7,
        state="open",
        draft=False,
        title="t",
        body="",
        author_login="alice",
        author_type="User",
        head_sha="1" * 40,
        head_ref="feature",
        head_repo="acme/calc",
        base_sha="2" * 40,
        base_ref="main",
        base_repo="acme/calc",
        maintainer_can_modify=False,
        html_url="",
        commits=commits,
        changed_files=1,
    )


def _read(double: Commits, wanted: int = 50) -> tuple[str, ...]:
    return commit_messages(cast(GitHubClient, double), _pull(double.total), wanted)


def test_a_pull_request_of_up_to_a_hundred_commits_costs_one_request() -> None:
    double = Commits(total=80)
    messages = _read(double)
    assert double.pages == [(1, 100)]
    assert messages[0] == "commit 30\n\nbody"
    assert messages[-1] == "commit 79\n\nbody"
    assert len(messages) == 50


def test_a_short_last_page_is_completed_from_the_page_before() -> None:
    double = Commits(total=105)
    messages = _read(double)
    assert double.pages == [(2, 100), (1, 100)]
    assert [m.split("\n")[0] for m in messages] == [f"commit {n}" for n in range(55, 105)]


def test_beyond_250_commits_the_last_listed_page_is_read() -> None:
    double = Commits(total=400)
    messages = _read(double)
    assert double.pages == [(3, 100)]
    assert messages[-1].startswith("commit 249")


def test_no_commits_cost_no_request_and_a_failure_leaves_the_subjects_out() -> None:
    assert _read(Commits(total=0)) == ()
    failing = Commits(total=3, fail=True)
    assert _read(failing) == ()
    assert failing.pages == [(1, 100)]


def test_the_emulator_lists_pull_commits_as_the_openapi_description_says(
    github_emulator: GitHubEmulator,
) -> None:
    world = seed(github_emulator)
    github_emulator.commit("acme/widgets", "feature", {"more.py": "x = 1\n"}, "Second\n\nbody")
    token = world.github_app().installation_token(world.installation, "acme/widgets")
    answer = requests.get(
        f"{github_emulator.base_url}/repos/acme/widgets/pulls/{world.number}/commits",
        params={"per_page": 1, "page": 2},
        headers={**API_HEADERS, "Authorization": f"token {token}"},
        timeout=5,
    )
    assert answer.status_code == 200
    listed: list[Any] = TypeAdapter(list[models.Commit]).validate_python(answer.json())
    assert [c.commit.message for c in listed] == ["Second\n\nbody"]
    assert 'rel="prev"' in answer.headers["link"]

    client = world.github_app().installation_client(world.installation, "acme/widgets")
    assert client.list_pull_commit_messages(world.number) == ("Change", "Second\n\nbody")
