"""Chaos end to end: random faults of GitHub, the model, Redis and the workers; every
pull request still gets exactly one review with every segment reviewed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chaos import chaos_stack, run_chaos
from tests.e2e.review_support import ReviewStack
from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Iterator[ReviewStack]:
    made = chaos_stack(tmp_path, github_emulator, openai_emulator)
    try:
        yield made
    finally:
        made.stop()
        made.redis_server.kill()


@pytest.mark.timeout(600)
def test_twenty_prs_through_random_faults_get_one_complete_review_each(
    stack: ReviewStack,
) -> None:
    report = run_chaos(stack)

    assert report.prs_without_review == 0
    assert report.duplicates == 0
    assert report.reviews_posted == 20
    assert report.segments_not_reviewed == 0
    assert report.jobs_given_up == 0
    assert report.redelivered == 3
    assert report.faults["deliveries_503"] == 3
    # The faults did happen (whether a job or only a call had to try again is chance).
    assert report.faults.get("github_502", 0) + report.faults.get("github_timeout", 0) > 0
    assert sum(v for k, v in report.faults.items() if k.startswith("model_")) > 0
