"""A seeded world: an App installed on acme/widgets with one open PR."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.emulators.github import GitHubEmulator, SeededApp
from workers.github import GitHubApp, LocalPacer, retry_policy

BASE = {"app.py": "".join(f"line {i}\n" for i in range(1, 41)), "logo.png": b"\x89PNG\0\1"}


@dataclass
class World:
    emulator: GitHubEmulator
    app: SeededApp
    installation: int
    number: int
    head: str

    def github_app(self, **kwargs: object) -> GitHubApp:
        defaults: dict[str, object] = {
            "retry": retry_policy(backoff_factor=0.01, max_rate_limit_wait=5),
            "pacer": LocalPacer(min_interval=0.0),
            "review_settle_seconds": 0.5,
        }
        defaults.update(kwargs)
        return GitHubApp(self.app.id, self.app.private_key_pem, self.emulator.base_url, **defaults)  # type: ignore[arg-type]


def seed(emulator: GitHubEmulator) -> World:
    app = emulator.create_app("codex-review")
    emulator.create_repo("acme/widgets", BASE)
    installation = emulator.create_installation(app, "acme", ["widgets"])
    changed = BASE["app.py"].replace("line 10\n", "line ten\n").replace("line 30\n", "")  # type: ignore[union-attr]
    head = emulator.commit(
        "acme/widgets",
        "feature",
        {"app.py": changed, "new.py": "print('hi')\n", "logo.png": b"\x89PNG\0\2"},
    )
    number = emulator.create_pull("acme/widgets", "feature", title="Tweak", author="alice")
    return World(emulator, app, installation, number, head)


@pytest.fixture
def world(github_emulator: GitHubEmulator) -> World:
    return seed(github_emulator)
