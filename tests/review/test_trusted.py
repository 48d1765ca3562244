"""Guidelines and configuration from one listing of the default branch (``trusted``)."""

from __future__ import annotations

import pytest
import structlog

from tests.emulators.github import GitHubEmulator
from tests.github.conftest import World, seed
from workers.github.models import TreeEntry, TreeListing
from workers.review import trusted
from workers.review.config import RepoConfig

GUIDE = "# Notes\n\n## Review guidelines\n\n- {rule}\n"


def _listing(*paths: str, truncated: bool = False) -> TreeListing:
    return TreeListing(
        entries=tuple(TreeEntry(p, "100644", "blob", "0" * 40) for p in paths),
        truncated=truncated,
    )


def test_only_the_listed_agents_files_above_the_paths_are_read() -> None:
    listing = _listing("AGENTS.md", "src/AGENTS.md", "docs/AGENTS.md", "src/app/x.py")
    assert trusted.agents_to_read(listing, ["src/app/x.py", "src/app/deep/y.py"]) == [
        "AGENTS.md",
        "src/AGENTS.md",
    ]


def test_a_truncated_or_missing_listing_falls_back_to_every_directory() -> None:
    expected = ["AGENTS.md", "src/AGENTS.md", "src/app/AGENTS.md"]
    assert trusted.agents_to_read(_listing("AGENTS.md", truncated=True), ["src/app/x.py"]) == (
        expected
    )
    assert trusted.agents_to_read(None, ["src/app/x.py"]) == expected


@pytest.fixture
def world(github_emulator: GitHubEmulator) -> World:
    return seed(github_emulator)


def _seed_guides(world: World) -> None:
    world.emulator.commit(
        "acme/widgets",
        "main",
        {
            "AGENTS.md": GUIDE.format(rule="root rule"),
            "pkg/sub/AGENTS.md": GUIDE.format(rule="sub rule"),
            "pkg/sub/deeper/mod.py": "x = 1\n",
            "other/AGENTS.md": GUIDE.format(rule="unrelated"),
        },
    )


def test_one_listing_then_one_read_per_applicable_agents_file(world: World) -> None:
    _seed_guides(world)
    gh = world.github_app().installation_client(world.installation, "acme/widgets")
    gh.get_pull(world.number)  # the token, out of the count
    before = len(world.emulator.requests)

    listing = trusted.read_listing(gh, "main")
    config = trusted.read_config(gh, "main", listing)
    texts = trusted.read_agents(
        gh, "main", listing, ["pkg/sub/deeper/mod.py", "pkg/sub/deeper/new.py"], concurrency=4
    )

    assert isinstance(config, RepoConfig)
    assert set(texts) == {"AGENTS.md", "pkg/sub/AGENTS.md"}
    paths = sorted(r.path for r in world.emulator.requests[before:])
    assert paths == [
        "/repos/acme/widgets/contents/AGENTS.md",
        "/repos/acme/widgets/contents/pkg/sub/AGENTS.md",
        "/repos/acme/widgets/git/trees/main",
    ]
    assert all(r.status == 200 for r in world.emulator.requests[before:])


def test_a_listed_configuration_is_read(world: World) -> None:
    world.emulator.commit("acme/widgets", "main", {".github/codex-review.yml": "language: fr\n"})
    gh = world.github_app().installation_client(world.installation, "acme/widgets")
    listing = trusted.read_listing(gh, "main")
    config = trusted.read_config(gh, "main", listing)
    assert isinstance(config, RepoConfig)
    assert config.language == "fr"


def test_a_truncated_listing_is_logged_and_every_directory_looked_up(world: World) -> None:
    _seed_guides(world)
    world.emulator.state.max_tree_entries = 2
    gh = world.github_app().installation_client(world.installation, "acme/widgets")
    gh.get_pull(world.number)
    before = len(world.emulator.requests)

    with structlog.testing.capture_logs() as logs:
        listing = trusted.read_listing(gh, "main")
    texts = trusted.read_agents(gh, "main", listing, ["pkg/sub/deeper/mod.py"], concurrency=4)
    config = trusted.read_config(gh, "main", listing)

    assert listing is not None
    assert listing.truncated
    assert set(texts) == {"AGENTS.md", "pkg/sub/AGENTS.md"}
    assert isinstance(config, RepoConfig)
    looked_up = sorted(
        r.path.split("/contents/")[1]
        for r in world.emulator.requests[before:]
        if "contents" in r.path
    )
    assert looked_up == [
        ".github/codex-review.yml",
        "AGENTS.md",
        "pkg/AGENTS.md",
        "pkg/sub/AGENTS.md",
        "pkg/sub/deeper/AGENTS.md",
    ]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "tree listing truncated: AGENTS.md files it does not name are looked up one by one"
    ]
