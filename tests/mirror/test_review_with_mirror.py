"""The review flow with the mirror: contents, related code, tools, fallback, API calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, findings
from tests.review.conftest import World, finding, seed
from workers.mirror import Mirror, RepoMirrors
from workers.redis_server import RedisServer
from workers.review.flow import ReviewFlow

PRICING_OLD = (
    "def price(amount, currency):\n"
    '    """The amount formatted in its currency."""\n'
    '    return f"{amount:.2f} {currency}"\n'
)
PRICING_NEW = (
    "def price(currency, amount):\n"
    '    """The amount formatted in its currency."""\n'
    '    return f"{amount:.2f} {currency}"\n'
)
CALLER_LINE = "    return price(total, 'EUR')"
BASE = {
    "lib/pricing.py": PRICING_OLD,
    "app/checkout.py": (
        "from lib.pricing import price\n\n\ndef receipt(total):\n" + CALLER_LINE + "\n"
    ),
    "README.md": "# shop\n",
}
SIGNATURE = "def price(currency, amount):"
PLANTED = finding(
    "lib/pricing.py", 1, SIGNATURE, "app/checkout.py still passes (amount, currency)", priority=0
)


@pytest.fixture
def shop(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
) -> Iterator[World]:
    made = seed(
        github_emulator,
        openai_emulator,
        redis_server.url,
        base=BASE,
        head_files={"lib/pricing.py": PRICING_NEW},
    )
    # The model sees the bug only when the caller in the other file is in its prompt.
    openai_emulator.add(findings([PLANTED]), match=CALLER_LINE)
    openai_emulator.add(findings([]))
    try:
        yield made
    finally:
        made.close()


def _flow(world: World, mirror: Mirror | None, **settings: object) -> ReviewFlow:
    deps = world.deps(**settings)
    if mirror is not None:
        app = world.github_app()
        mirrors = RepoMirrors(
            mirror,
            lambda inst, repo, refresh: app.installation_token(inst, repo, refresh=refresh),
        )
        deps = replace(deps, mirror=mirrors)
    return ReviewFlow(deps)


def _content_reads(world: World) -> list[str]:
    return [r.path for r in world.github.requests if "/contents/" in r.path]


def test_the_caller_in_another_file_reaches_the_prompt_and_the_bug_is_found(
    shop: World, tmp_path: Path
) -> None:
    outcome = _flow(shop, Mirror(tmp_path / "m", max_bytes=50_000_000)).run(shop.job())
    assert outcome.status == "posted"
    assert outcome.inline == 1
    (prompt,) = shop.model_inputs()
    assert "app/checkout.py:4-5 (call of price)" in prompt
    assert prompt.index("(call of price)") < prompt.index(SIGNATURE)  # before the diff
    (comment,) = shop.comments()
    assert comment["path"] == "lib/pricing.py"
    # lib/pricing.py came from the mirror: only the trusted config was read from the API.
    assert all("pricing" not in path for path in _content_reads(shop))
    (check,) = shop.check_runs()
    assert "mirror" not in check["output"]["summary"]


def test_without_the_mirror_the_bug_is_missed(shop: World) -> None:
    outcome = _flow(shop, None).run(shop.job())
    assert outcome.inline == 0
    (prompt,) = shop.model_inputs()
    assert "app/checkout.py" not in prompt


def test_a_mirror_that_cannot_be_had_falls_back_to_the_api_and_says_so(
    shop: World, tmp_path: Path
) -> None:
    too_small = Mirror(tmp_path / "m", max_bytes=1_000)
    outcome = _flow(shop, too_small).run(shop.job())
    assert outcome.status == "posted"
    assert any("pricing" in path for path in _content_reads(shop))
    (check,) = shop.check_runs()
    assert (
        "The repository mirror was unavailable (the repository is larger than the mirror's "
        "size cap), so files were read through the API" in check["output"]["summary"]
    )


def test_the_model_searches_the_whole_repository_through_the_mirror(
    shop: World, tmp_path: Path
) -> None:
    from tests.emulators.openai import function_call

    shop.openai.reset()
    shop.openai.add(function_call("find_references", symbol="price"), times=1)
    shop.openai.add(findings([]))
    _flow(shop, Mirror(tmp_path / "m", max_bytes=50_000_000), context_tokens=0).run(shop.job())
    outputs = [
        item["output"]
        for r in shop.openai.requests
        for item in (r.body.get("input") or [])
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    assert outputs
    assert f"app/checkout.py:5: {CALLER_LINE.strip()}" in outputs[0]


def test_a_finding_on_related_code_is_not_posted_on_it(shop: World, tmp_path: Path) -> None:
    shop.openai.reset()
    on_context = finding("app/checkout.py", 5, CALLER_LINE, "wrong argument order", priority=0)
    shop.openai.add(findings([on_context]))
    outcome = _flow(shop, Mirror(tmp_path / "m", max_bytes=50_000_000)).run(shop.job())
    assert outcome.inline == 0
    assert shop.comments() == []


def test_a_thirty_file_review_with_a_warm_mirror_reads_no_changed_file_through_the_api(
    github_emulator: GitHubEmulator,
    openai_emulator: ResponsesEmulator,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    base = {f"pkg/mod{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(30)}
    head = {p: t.replace("return x +", "return x -") for p, t in base.items()}
    world = seed(github_emulator, openai_emulator, redis_server.url, base=base, head_files=head)
    try:
        mirror = Mirror(tmp_path / "m", max_bytes=50_000_000)
        app = world.github_app()
        token = app.installation_token(world.installation, "acme/calc")
        pull = app.installation_client(world.installation, "acme/calc").get_pull(world.number)
        mirror.view(str(pull.clone_url), world.head, lambda _: token).close()  # warm
        before = len(github_emulator.requests)
        outcome = _flow(world, mirror).run(world.job())
        assert outcome.status == "posted"
        calls = github_emulator.requests[before:]
        api = [r for r in calls if ".git/" not in r.path]
        git = [r for r in calls if ".git/" in r.path]
        contents = [r.path for r in api if "/contents/" in r.path]
        # Guidelines are read from the default branch, not the head: still through the API.
        assert not any(".py" in path for path in contents)
        assert git == []  # warm: the head was fetched already
        print(f"\n30-file PR, warm mirror: {len(api)} API calls, {len(contents)} content reads")
        for r in api:
            print(f"  {r.method} {r.path}")
    finally:
        world.close()
