"""The mirror against the GitHub emulator's real git smart-HTTP service."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.emulators.github import GitHubEmulator
from workers.github import GitHubApp
from workers.mirror import AuthRefused, Mirror, TooLarge
from workers.mirror.git import git_env

REPO = "acme/widgets"
FILES = {
    "pkg/core.py": "def total(items, tax):\n    return sum(items) * (1 + tax)\n",
    "pkg/use.py": "from pkg.core import total\n\nprint(total([1, 2], 0.2))\n",
    "README.md": "# widgets\n",
}


class World:
    def __init__(self, emulator: GitHubEmulator) -> None:
        self.emulator = emulator
        self.app = emulator.create_app()
        self.installation = emulator.create_installation(self.app, "acme", ["widgets"])
        emulator.create_repo(REPO, FILES)
        self.head = emulator.commit(REPO, "main", {"pkg/new.py": "VALUE = 1\n"})
        self.github = GitHubApp(self.app.id, self.app.private_key_pem, emulator.base_url)
        self.minted: list[str] = []

    def clone_url(self) -> str:
        gh = self.github.installation_client(self.installation, REPO)
        url = gh._get("")["clone_url"]  # the API's clone_url, as the flow reads it
        assert isinstance(url, str)
        return url

    def tokens(self, refresh: bool) -> str:
        token = self.github.installation_token(self.installation, REPO, refresh=refresh)
        self.minted.append(token)
        return token

    def git_requests(self) -> list[str]:
        return [r.path for r in self.emulator.requests if ".git/" in r.path]


@pytest.fixture
def world(github_emulator: GitHubEmulator) -> World:
    return World(github_emulator)


def test_a_view_reads_and_searches_the_head_through_one_partial_fetch(
    world: World, tmp_path: Path
) -> None:
    mirror = Mirror(tmp_path / "mirrors", max_bytes=50_000_000)
    view = mirror.view(world.clone_url(), world.head, world.tokens)
    try:
        assert view.paths() == ("README.md", "pkg/core.py", "pkg/new.py", "pkg/use.py")
        texts = view.read(["pkg/core.py", "pkg/new.py", "missing.py"])
        assert texts == {"pkg/core.py": FILES["pkg/core.py"], "pkg/new.py": "VALUE = 1\n"}
        hits = view.grep(["total"], limit=10)
        assert [(h.path, h.line) for h in hits] == [
            ("pkg/core.py", 1),
            ("pkg/use.py", 1),
            ("pkg/use.py", 3),
        ]
        assert view.grep(["tot"], limit=10) == []  # whole words only
        assert len(view.grep(["total"], limit=2)) == 2
        # Tool descriptions carry the scope: the same words for every commit keep the
        # prompt prefix cacheable across reviews.
        assert world.head[:7] not in view.scope
    finally:
        view.close()
    config = (view.path / "config").read_text()
    assert "partialclonefilter = blob:none" in config
    # A warm mirror at the same head asks the server for nothing.
    before = len(world.git_requests())
    mirror.view(world.clone_url(), world.head, world.tokens).close()
    assert len(world.git_requests()) == before


def test_the_token_is_never_in_arguments_config_or_logs(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # what `ps` shows while git runs
        while not stop.is_set():
            out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True)
            seen.append(out.stdout)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        view = Mirror(tmp_path / "m", max_bytes=50_000_000).view(
            world.clone_url(), world.head, world.tokens
        )
    finally:
        stop.set()
        watcher.join()
    view.close()
    token = world.minted[0]
    assert any("git" in snapshot for snapshot in seen)
    assert not any(token in snapshot for snapshot in seen)
    for file in view.path.rglob("*"):
        if file.is_file() and file.stat().st_size < 1_000_000:
            assert token.encode() not in file.read_bytes(), file
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err
    assert token not in world.clone_url()


def test_a_token_that_expires_mid_job_is_refreshed_once(world: World, tmp_path: Path) -> None:
    url = world.clone_url()
    first = world.tokens(False)
    world.emulator.state.tokens[first].expires_at = 0  # revoked after it was handed out
    view = Mirror(tmp_path / "m", max_bytes=50_000_000).view(url, world.head, world.tokens)
    view.close()
    # The stale one was tried, refused, and one fresh token served the rest of the job.
    assert world.minted[:2] == [first, first]
    assert len(set(world.minted)) == 2
    assert 401 in {r.status for r in world.emulator.requests if ".git/" in r.path}


def test_a_refused_fetch_is_a_mirror_error(world: World, tmp_path: Path) -> None:
    with pytest.raises(AuthRefused):
        Mirror(tmp_path / "m", max_bytes=50_000_000).view(
            world.clone_url(), world.head, lambda refresh: "ghs_not_a_token"
        )


def test_a_repository_over_the_cap_is_refused_and_removed(world: World, tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "m", max_bytes=10_000)
    with pytest.raises(TooLarge):
        mirror.view(world.clone_url(), world.head, world.tokens)
    assert list((tmp_path / "m").glob("*.git")) == []


def test_least_recently_used_mirrors_are_evicted_unless_in_use(
    world: World, tmp_path: Path
) -> None:
    emulator = world.emulator
    for name in ("one", "two", "three"):
        emulator.create_repo(f"acme/{name}", {f"{name}.txt": name * 1000})
        emulator.state.installations[world.installation].repositories.add(f"acme/{name}")
    root = tmp_path / "m"

    def token_for(repository: str) -> str:
        return world.github.installation_token(world.installation, repository)

    probe = Mirror(root, max_bytes=10_000_000)
    sizes = {}
    for name in ("one", "two", "three"):
        url = world.clone_url().replace("widgets", name)
        sha = emulator.branch_sha(f"acme/{name}", "main")
        assert sha is not None
        view = probe.view(url, sha, lambda _, repo=f"acme/{name}": token_for(repo))
        view.close()
        sizes[name] = sum(f.stat().st_size for f in view.path.rglob("*") if f.is_file())
        time.sleep(0.02)  # distinct last-used times
    in_use = probe.view(
        world.clone_url().replace("widgets", "one"),
        str(emulator.branch_sha("acme/one", "main")),
        lambda _: token_for("acme/one"),
    )  # "one" is now the most recent and open
    # Room for about two: the least recently used one ("two") goes.
    cap = sizes["one"] + sizes["three"] + sizes["two"] // 2
    capped = Mirror(root, max_bytes=cap)
    capped._evict(keep=in_use.path)
    left = sorted(p.name.split("-")[1] for p in root.glob("*.git"))
    assert left == ["one", "three"]
    in_use.close()


def test_git_commands_run_without_user_or_system_configuration() -> None:
    env = git_env("secret-token")
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_KEY_1"] == "http.extraHeader"
    assert "secret-token" not in env["GIT_CONFIG_VALUE_1"]  # base64 of x-access-token:...


def test_enterprise_server_clones_from_the_apis_clone_url(
    ghes_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    world = World(ghes_emulator)
    url = world.clone_url()
    assert "/api/v3" in ghes_emulator.base_url
    assert "/api/v3" not in url
    view = Mirror(tmp_path / "m", max_bytes=50_000_000).view(url, world.head, world.tokens)
    view.close()
    assert "pkg/new.py" in view.paths()


def test_the_emulator_serves_fetches_only_and_checks_the_token_like_github(world: World) -> None:
    import httpx

    from workers.mirror.git import auth_header

    url = world.clone_url() + "/info/refs"
    token = world.tokens(False)
    header = {"Authorization": auth_header(token).split(": ", 1)[1]}
    fetch = httpx.get(url, params={"service": "git-upload-pack"}, headers=header)
    assert fetch.status_code == 200
    assert fetch.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    push = httpx.get(url, params={"service": "git-receive-pack"}, headers=header)
    assert push.status_code == 403
    anonymous = httpx.get(url, params={"service": "git-upload-pack"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="GitHub"'
    world.emulator.state.tokens[token].expires_at = 0
    expired = httpx.get(url, params={"service": "git-upload-pack"}, headers=header)
    assert expired.status_code == 401


def test_workers_sharing_a_disk_fetch_a_repository_once(world: World, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = world.clone_url()
    token = world.tokens(False)

    def review(_: int) -> tuple[str, ...]:
        # A Mirror per worker, one directory for all of them.
        view = Mirror(tmp_path / "shared", max_bytes=50_000_000).view(
            url, world.head, lambda refresh: token
        )
        try:
            return view.paths()
        finally:
            view.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(review, range(4)))
    assert all(r == results[0] and "pkg/new.py" in r for r in results)
    fetches = [r for r in world.emulator.requests if r.path.endswith("/git-upload-pack")]
    assert len(fetches) == 2  # the commit and its tree's blobs, by the first worker only
