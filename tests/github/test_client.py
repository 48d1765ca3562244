"""The real client layer against the emulator."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.emulators.github import GitHubEmulator
from tests.emulators.github.headers import API_HEADERS
from tests.github.conftest import World, seed
from workers.github import (
    AuthError,
    BranchMoved,
    DraftComment,
    GitHubApp,
    NotFound,
    RateLimited,
    ServerError,
    Unprocessable,
    retry_policy,
)


def test_reads_pull_and_files(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    pull = client.get_pull(world.number)
    assert (pull.head_sha, pull.author_login, pull.changed_files, pull.is_fork) == (
        world.head,
        "alice",
        3,
        False,
    )
    files = {f.filename: f for f in client.list_pull_files(world.number)}
    assert files["logo.png"].patch is None
    assert files["new.py"].status == "added"
    assert "-line 10\n+line ten" in (files["app.py"].patch or "")
    assert not (files["app.py"].patch or "").startswith("diff --git")


def test_review_sequence_uses_six_calls_and_validates(world: World) -> None:
    emulator = world.emulator
    files = {f"src/m{i}.py": f"v = {i}\n" for i in range(30)}
    emulator.commit("acme/widgets", "feature", files)
    app = world.github_app()
    app.app_identity()
    before = len(emulator.requests)
    client = app.installation_client(world.installation, "acme/widgets")
    pull = client.get_pull(world.number)
    assert len(client.list_pull_files(world.number)) == 33
    client.list_review_comments(world.number)
    client.list_reviews(world.number)
    review = client.create_review(
        world.number, pull.head_sha, "Looks fine", [DraftComment("src/m3.py", 1, "nit")]
    )
    calls = emulator.requests[before:]
    print(f"API calls for a review of a 33-file PR: {len(calls)}")
    assert [c.method for c in calls] == ["POST", "GET", "GET", "GET", "GET", "POST"]
    assert calls[0].path.endswith("/access_tokens")
    assert review.state == "COMMENTED"
    assert emulator.schema_violations == []
    assert emulator.review_comments("acme/widgets", world.number)[0]["line"] == 1


def test_pagination_over_300_files(world: World) -> None:
    world.emulator.commit(
        "acme/widgets", "feature", {f"f/{i:03}.txt": f"{i}\n" for i in range(305)}
    )
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    files = client.list_pull_files(world.number)
    assert len(files) == 308
    pages = [r for r in world.emulator.requests if r.path.endswith("/files")]
    assert len(pages) == 4


def test_comment_outside_diff_is_422(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    good = DraftComment("app.py", 10, "ok")
    bad = DraftComment("app.py", 25, "outside any hunk")
    with pytest.raises(Unprocessable) as info:
        client.create_review(world.number, world.head, "x", [good, bad])
    assert "Pull request review thread line must be part of the diff" in info.value.reasons
    assert world.emulator.reviews("acme/widgets", world.number) == []
    with pytest.raises(Unprocessable, match="path is invalid"):
        client.create_review(world.number, world.head, "x", [DraftComment("nope.py", 1, "?")])
    with pytest.raises(Unprocessable):
        client.create_review(world.number, world.head, "x", [DraftComment("logo.png", 1, "binary")])
    with pytest.raises(Unprocessable) as info:
        client.create_review(
            world.number, world.head, "x", [DraftComment("app.py", 10, "x", start_line=12)]
        )
    with pytest.raises(Unprocessable, match="too long"):
        client.create_review(world.number, world.head, "y" * 70_000, [])
    with pytest.raises(Unprocessable, match="commit_id is not part"):
        client.create_review(world.number, "0" * 40, "x", [good])
    left = DraftComment("app.py", 30, "deleted line", side="LEFT")
    ranged = DraftComment("app.py", 12, "range", start_line=8)
    assert client.create_review(world.number, world.head, "ok", [left, ranged]).state == "COMMENTED"


def test_token_expiry_and_refresh(world: World) -> None:
    world.emulator.state.token_lifetime = 2
    app = world.github_app(refresh_margin=0.5)
    client = app.installation_client(world.installation, "acme/widgets")
    client.get_pull(world.number)
    time.sleep(1.6)
    client.get_pull(world.number)
    mints = [r for r in world.emulator.requests if r.path.endswith("/access_tokens")]
    assert len(mints) == 2
    stale = world.github_app(refresh_margin=0.0)
    token = stale.installation_token(world.installation, "acme/widgets")
    time.sleep(2.1)
    response = requests.get(
        f"{world.emulator.base_url}/repos/acme/widgets/pulls/1",
        headers={**API_HEADERS, "Authorization": f"token {token}"},
        timeout=5,
    )
    assert response.status_code == 401


def test_bad_jwts_get_401(world: World) -> None:
    url = f"{world.emulator.base_url}/app"
    now = int(time.time())
    good = jwt.encode(
        {"iss": str(world.app.id), "iat": now - 30, "exp": now + 500},
        world.app.private_key_pem,
        "RS256",
    )
    too_long = jwt.encode(
        {"iss": str(world.app.id), "iat": now, "exp": now + 1200},
        world.app.private_key_pem,
        "RS256",
    )
    other = GitHubEmulator.create_app(world.emulator, "other")
    wrong_key = jwt.encode(
        {"iss": str(world.app.id), "iat": now, "exp": now + 300}, other.private_key_pem, "RS256"
    )
    assert (
        requests.get(
            url, headers={**API_HEADERS, "Authorization": f"Bearer {good}"}, timeout=5
        ).status_code
        == 200
    )
    for token in (too_long, wrong_key):
        answer = requests.get(
            url, headers={**API_HEADERS, "Authorization": f"Bearer {token}"}, timeout=5
        )
        assert answer.status_code == 401
    assert requests.get(url, headers=API_HEADERS, timeout=5).status_code == 401
    bad_app = GitHubApp(
        world.app.id, other.private_key_pem, world.emulator.base_url, retry=retry_policy(total=0)
    )
    with pytest.raises(AuthError):
        bad_app.app_identity()


def test_token_scoped_to_one_repository(world: World) -> None:
    world.emulator.create_repo("acme/other", {"x": "1\n"})
    world.emulator.state.installations[world.installation].repositories.add("acme/other")
    token = world.github_app().installation_token(world.installation, "acme/widgets")
    answer = requests.get(
        f"{world.emulator.base_url}/repos/acme/other",
        headers={**API_HEADERS, "Authorization": f"token {token}"},
        timeout=5,
    )
    assert answer.status_code == 404


@pytest.mark.parametrize("kind", ["primary", "secondary", "429"])
def test_rate_limits_are_waited_out(world: World, kind: str) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    client.get_pull(world.number)
    if kind == "primary":
        world.emulator.primary_rate_limit("GET", r"/pulls/1$", reset_in=1)
    elif kind == "secondary":
        world.emulator.secondary_rate_limit("POST", r"/issues/1/comments$", retry_after=1)
    else:
        world.emulator.fail_next("GET", r"/pulls/1$", 429, headers={"retry-after": "1"})
    started = time.monotonic()
    if kind == "secondary":
        client.create_issue_comment(world.number, "hello")
        assert len(world.emulator.issue_comments("acme/widgets", 1)) == 1
    else:
        assert client.get_pull(world.number).number == 1
    assert time.monotonic() - started >= 0.9
    statuses = [r.status for r in world.emulator.requests[-2:]]
    assert statuses[0] in (403, 429)
    assert statuses[1] in (200, 201)


def test_rate_limit_beyond_max_wait_is_typed(world: World) -> None:
    client = world.github_app(retry=retry_policy(max_rate_limit_wait=1)).installation_client(
        world.installation, "acme/widgets"
    )
    world.emulator.primary_rate_limit("GET", r"/pulls/1$", reset_in=600)
    with pytest.raises((RateLimited, Exception)) as info:
        client.get_pull(world.number)
    assert isinstance(info.value, RateLimited) or "rate" in str(info.value).lower()


def test_get_502_is_retried(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    client.get_pull(world.number)
    world.emulator.fail_next("GET", r"/pulls/1$", 502, times=2)
    assert client.get_pull(world.number).number == 1


def test_review_502_after_landing_is_not_duplicated(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    world.emulator.fail_next("POST", r"/pulls/1/reviews$", 502)
    review = client.create_review(
        world.number, world.head, "body", [DraftComment("new.py", 1, "n")]
    )
    assert len(world.emulator.reviews("acme/widgets", 1)) == 1
    assert review.state == "COMMENTED"


def test_slow_review_post_is_found_not_reposted(world: World) -> None:
    app = world.github_app(timeout=1, review_settle_seconds=1.5)
    client = app.installation_client(world.installation, "acme/widgets")
    client.get_pull(world.number)
    world.emulator.slow_next("POST", r"/pulls/1/reviews$", delay=1.5)
    review = client.create_review(world.number, world.head, "slow", [])
    reviews = world.emulator.reviews("acme/widgets", 1)
    assert [r["id"] for r in reviews] == [review.id]


def test_review_500_that_did_not_land_is_posted_once_more(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    world.emulator.fail_next("POST", r"/pulls/1/reviews$", 500)
    client.create_review(world.number, world.head, "body", [])
    assert len(world.emulator.reviews("acme/widgets", 1)) == 1
    world.emulator.fail_next("POST", r"/pulls/1/reviews$", 500, times=2)
    with pytest.raises(ServerError):
        client.create_review(world.number, world.head, "other", [])


def test_ghes_prefix(ghes_emulator: GitHubEmulator) -> None:
    world = seed(ghes_emulator)
    assert world.emulator.base_url.endswith("/api/v3")
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    assert client.app_identity().bot_login == "codex-review[bot]"
    assert len(client.list_pull_files(world.number)) == 3
    assert all(
        r.path.startswith("/") and not r.path.startswith("/api") for r in ghes_emulator.requests
    )


def test_commit_and_fast_forward(world: World) -> None:
    app = world.github_app()
    perms = {"contents": "write", "pull_requests": "write", "metadata": "read"}
    client = app.installation_client(world.installation, "acme/widgets", perms)
    sha = client.commit_files(world.head, {"new.py": b"print('fixed')\n", "logo.png": None}, "Fix")
    client.update_branch("feature", sha)
    assert world.emulator.branch_sha("acme/widgets", "feature") == sha
    assert client.get_file("new.py", "feature") == b"print('fixed')\n"
    assert client.get_file("logo.png", "feature") is None
    stale = client.commit_files(world.head, {"new.py": b"other\n"}, "Stale")
    with pytest.raises(BranchMoved):
        client.update_branch("feature", stale)
    wf = client.commit_files(sha, {".github/workflows/ci.yml": b"on: push\n"}, "Workflow")
    with pytest.raises(Unprocessable, match="workflows"):
        client.update_branch("feature", wf)


def test_comments_reactions_checks_permissions(world: World) -> None:
    world.emulator.add_collaborator("acme/widgets", "bob", "maintain")
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    assert client.get_permission("bob") == "maintain"
    assert client.get_permission("mallory") == "none"
    comment = client.create_issue_comment(world.number, "hi")
    client.add_reaction("issue_comment", comment.id, "eyes")
    assert client.get_issue_comment(comment.id).body == "hi"
    assert [c.id for c in client.list_issue_comments(world.number)] == [comment.id]
    review = client.create_review(world.number, world.head, "r", [DraftComment("new.py", 1, "c")])
    first = client.list_review_comments(world.number)[0]
    assert first.review_id == review.id
    reply = client.reply_to_review_comment(world.number, first.id, "reply")
    assert client.get_review_comment(reply.id).in_reply_to_id == first.id
    run = client.create_check_run("codex", world.head)
    done = client.update_check_run(run.id, conclusion="success", title="t", summary="s")
    assert (done.status, done.conclusion) == ("completed", "success")
    comparison = client.compare("main", "feature")
    assert comparison.status == "ahead"
    assert len(comparison.files) == 3
    with pytest.raises(NotFound):
        client.get_pull(99)


def test_body_off_schema_is_refused_and_recorded(world: World) -> None:
    token = world.github_app().installation_token(world.installation, "acme/widgets")
    bodies = [
        {"event": "SHIP_IT", "body": "x"},
        {"event": "COMMENT", "comments": [{"path": "new.py", "body": "x", "lines": 1}]},
    ]
    for body in bodies:
        answer = requests.post(
            f"{world.emulator.base_url}/repos/acme/widgets/pulls/1/reviews",
            json=body,
            headers={**API_HEADERS, "Authorization": f"token {token}"},
            timeout=5,
        )
        assert answer.status_code == 422
        error = answer.json()
        assert error["message"].startswith("Invalid request.")
        assert error["documentation_url"].startswith("https://docs.github.com/")
        assert error["errors"][0]["code"] == "invalid"
    violations = world.emulator.schema_violations
    assert len(violations) == 2
    assert "event" in violations[0]
    assert "comments[0].lines" in violations[1]
    assert world.emulator.reviews("acme/widgets", 1) == []
    world.emulator.state.schema_violations.clear()


def test_a_check_run_whose_creation_timed_out_is_adopted_not_duplicated(world: World) -> None:
    client = world.github_app(timeout=1).installation_client(world.installation, "acme/widgets")
    # The POST lands, but its answer comes after the client stopped waiting.
    world.emulator.slow_next("POST", r"/check-runs$", 1.2)

    run = client.create_check_run("Codex review", world.head, external_id="job-1")

    runs = world.emulator.state.check_runs
    assert len(runs) == 1
    assert run.id == runs[0]["id"]


def test_completing_a_check_run_goes_through_an_outage(world: World) -> None:
    client = world.github_app().installation_client(world.installation, "acme/widgets")
    run = client.create_check_run("Codex review", world.head, external_id="job-2")
    world.emulator.fail_next("PATCH", r"/check-runs/\d+$", 502, times=2)

    done = client.update_check_run(run.id, status="completed", conclusion="neutral")

    assert done.status == "completed"
    assert world.emulator.state.check_runs[0]["conclusion"] == "neutral"
