"""GitHub emulator fixtures: a served emulator per test, failing the test on any request
body that does not validate against GitHub's official schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.github import GitHubEmulator


def _serve(root: Path, prefix: str) -> Iterator[GitHubEmulator]:
    emulator = GitHubEmulator(root, prefix=prefix).start()
    try:
        yield emulator
    finally:
        emulator.stop()
    assert emulator.schema_violations == [], (
        "request bodies did not validate against GitHub's schema"
    )


@pytest.fixture
def github_emulator(tmp_path: Path) -> Iterator[GitHubEmulator]:
    """A fresh emulator served at ``http://127.0.0.1:PORT`` (github.com's layout)."""
    yield from _serve(tmp_path / "github", "")


@pytest.fixture
def ghes_emulator(tmp_path: Path) -> Iterator[GitHubEmulator]:
    """A fresh emulator served at ``http://127.0.0.1:PORT/api/v3`` (Enterprise Server's layout)."""
    yield from _serve(tmp_path / "ghes", "/api/v3")
