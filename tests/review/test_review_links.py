"""Links the model writes stay links only to the GitHub the PR lives on, as its API names it
(the PR's ``html_url``), port included; never to the API's host."""

from __future__ import annotations

from tests.emulators.openai import findings
from tests.review.conftest import BUG_QUOTE, World, finding


def test_links_to_the_enterprise_server_stay_and_others_are_neutralised(world: World) -> None:
    world.github.state.web_url = "https://ghe.example:8443"
    body = (
        "See [the guide](https://ghe.example:8443/acme/calc/wiki/Math) and "
        "[this](https://evil.example/steal) and [api](http://127.0.0.1/x)."
    )
    world.openai.add(
        findings([finding("calc.py", 12, BUG_QUOTE, "Adds instead of multiplying", body=body)]),
        match=BUG_QUOTE,
    )

    outcome = world.run("opened")

    assert outcome.status == "posted", outcome.reason
    (comment,) = world.comments()
    assert "[the guide](https://ghe.example:8443/acme/calc/wiki/Math)" in comment["body"]
    assert "https://evil.example" not in comment["body"]
    assert "http://127.0.0.1" not in comment["body"]
