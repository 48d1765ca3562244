"""The redelivery sweep: which failed deliveries are asked for again, and only once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis

from workers.github.deliveries import HookDelivery
from workers.github.errors import ServerError
from workers.redelivery import SweepSettings, plan_redeliveries, sweep
from workers.redis_server import RedisServer

NOW = 1_800_000_000.0
LEDGER = "test:delivery:"


def attempt(
    id: int, guid: str, age: float, status: int, *, redelivery: bool = False
) -> HookDelivery:
    return HookDelivery(
        id=id,
        guid=guid,
        delivered_at=NOW - age,
        redelivery=redelivery,
        status_code=status,
        event="pull_request",
        action="opened",
    )


def plan(*attempts: HookDelivery, accepted: frozenset[str] = frozenset()) -> list[int]:
    chosen, _ = plan_redeliveries(
        attempts, accepted=accepted.__contains__, now=NOW, settings=SweepSettings()
    )
    return [a.id for a in chosen]


def test_a_delivery_answered_503_is_redelivered_through_its_newest_attempt() -> None:
    assert plan(attempt(1, "g1", 600, 503), attempt(2, "g1", 300, 503, redelivery=True)) == [2]


def test_an_event_with_one_successful_attempt_is_left_alone() -> None:
    assert plan(attempt(1, "g1", 600, 503), attempt(2, "g1", 300, 202, redelivery=True)) == []


def test_a_timeout_with_no_answer_is_redelivered() -> None:
    assert plan(attempt(7, "g7", 120, 0)) == [7]


def test_a_refusal_is_not_redelivered_because_it_would_be_refused_again() -> None:
    assert plan(attempt(1, "g1", 600, 400), attempt(2, "g2", 600, 413)) == []


def test_a_failure_the_ledger_shows_as_accepted_is_not_redelivered_but_counted() -> None:
    chosen, accepted = plan_redeliveries(
        [attempt(1, "g1", 600, 0), attempt(2, "g2", 600, 502)],
        accepted={"g1"}.__contains__,
        now=NOW,
        settings=SweepSettings(),
    )
    assert [a.id for a in chosen] == [2]
    assert accepted == 1


def test_a_fresh_failure_waits_for_the_attempt_github_may_be_making() -> None:
    assert plan(attempt(1, "g1", 5, 503)) == []


def test_an_event_redelivered_too_often_is_given_up() -> None:
    tries = [attempt(i, "g1", 6000 - i, 503, redelivery=i > 0) for i in range(6)]
    assert plan(*tries) == []


def test_the_oldest_events_go_first() -> None:
    assert plan(attempt(1, "new", 100, 503), attempt(2, "old", 5000, 503)) == [2, 1]


@dataclass
class FakeApp:
    """The App's delivery log as GitHub would list it; records redelivery requests."""

    log: list[HookDelivery]
    asked: list[int] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)
    since_seen: list[float] = field(default_factory=list)

    def hook_deliveries(self, since: float) -> Iterator[HookDelivery]:
        self.since_seen.append(since)
        return iter(sorted(self.log, key=lambda a: -a.delivered_at))

    def redeliver(self, delivery_id: int) -> None:
        if delivery_id in self.refuse:
            raise ServerError("boom", status=502)
        self.asked.append(delivery_id)


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis[bytes]]:
    conn: redis.Redis[bytes] = redis.Redis.from_url(redis_server.url)
    conn.flushdb()
    yield conn
    conn.close()


def test_two_sweeps_ask_for_each_event_once(client: redis.Redis[bytes]) -> None:
    app = FakeApp([attempt(1, "g1", 600, 503), attempt(2, "g2", 900, 0)])
    first = sweep(app, client, ledger_prefix=LEDGER, now=NOW)
    second = sweep(app, client, ledger_prefix=LEDGER, now=NOW + 30)
    assert app.asked == [2, 1]
    assert (first.redelivered, second.redelivered) == (2, 0)
    assert app.since_seen[0] == NOW - SweepSettings().lookback_seconds


def test_a_refused_redelivery_is_tried_again_next_sweep(client: redis.Redis[bytes]) -> None:
    app = FakeApp([attempt(1, "g1", 600, 503)], refuse={1})
    assert sweep(app, client, ledger_prefix=LEDGER, now=NOW).errors == 1
    app.refuse.clear()
    assert sweep(app, client, ledger_prefix=LEDGER, now=NOW + 60).redelivered == 1
    assert app.asked == [1]


def test_an_event_in_the_ledger_is_not_asked_for(client: redis.Redis[bytes]) -> None:
    client.set(LEDGER + "g1", b"accepted:job")
    app = FakeApp([attempt(1, "g1", 600, 0)])
    result = sweep(app, client, ledger_prefix=LEDGER, now=NOW)
    assert (result.redelivered, result.already_accepted, app.asked) == (0, 1, [])


def test_a_sweep_caps_its_requests(client: redis.Redis[bytes]) -> None:
    app = FakeApp([attempt(i, f"g{i}", 600 + i, 503) for i in range(10)])
    result = sweep(
        app, client, ledger_prefix=LEDGER, now=NOW, settings=SweepSettings(max_per_sweep=3)
    )
    assert result.redelivered == 3
    assert len(app.asked) == 3
