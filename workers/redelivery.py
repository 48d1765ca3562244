"""Ask GitHub again for the deliveries that never reached us.

GitHub records a delivery that got no 2xx within 10 s as failed and never
retries it; a receiver that was down or answered 503 (broker unreachable)
would silently miss that event. ``sweep`` runs periodically (Celery beat):

1. list the App's delivery attempts of the last ``lookback_seconds``;
2. ``plan_redeliveries`` (pure) keeps one attempt per event (``guid``) that
   deserves another try: no attempt of that event succeeded, the delivery
   ledger has no record of accepting it, its last answer was not a refusal
   (a 4xx would only be refused again), it is not too fresh (GitHub may still
   be delivering a redelivery asked for a moment ago), and it has not been
   redelivered ``max_redeliveries`` times already;
3. claim each event in Redis (``SET NX`` with a TTL) so that two beats, or two
   processes, never ask for the same event twice within ``claim_seconds``;
4. ask GitHub to redeliver, paced like every App write, at most
   ``max_per_sweep`` a sweep.

The redelivered event keeps its ``X-GitHub-Delivery`` guid, so the receiver's
ledger still turns a second copy into a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import redis

from codex_common.logs import get_logger
from workers.github.deliveries import HookDelivery
from workers.github.errors import GitHubError

log = get_logger("workers.redelivery")


class DeliverySource(Protocol):
    """The App's side of GitHub as the sweep needs it (``workers.github.GitHubApp``)."""

    def hook_deliveries(self, since: float) -> Iterator[HookDelivery]: ...

    def redeliver(self, delivery_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class SweepSettings:
    lookback_seconds: float = 6 * 3600
    # An attempt younger than this may be followed by one GitHub is making right now.
    settle_seconds: float = 10.0
    max_per_sweep: int = 50
    max_redeliveries: int = 5
    claim_seconds: int = 15 * 60
    claim_prefix: str = "codex:redelivery:"


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep saw and did, for the log line and the counters."""

    attempts: int = 0
    failed_events: int = 0
    already_accepted: int = 0
    redelivered: int = 0
    errors: int = 0


def _redeliverable(status_code: int) -> bool:
    """No answer (0), a timeout, a rate limit or a server error: worth another try."""
    return status_code == 0 or status_code in (408, 429) or status_code >= 500


def plan_redeliveries(
    attempts: Iterable[HookDelivery],
    *,
    accepted: Callable[[str], bool],
    now: float,
    settings: SweepSettings,
) -> tuple[list[HookDelivery], int]:
    """The newest failed attempt of each event to redeliver, and how many failed events
    the ledger shows as accepted after all (their 2xx was lost or came too late)."""
    by_guid: dict[str, list[HookDelivery]] = {}
    for attempt in attempts:
        by_guid.setdefault(attempt.guid, []).append(attempt)
    chosen: list[HookDelivery] = []
    accepted_after_all = 0
    for guid, tries in by_guid.items():
        if any(t.succeeded for t in tries):
            continue
        newest = max(tries, key=lambda t: (t.delivered_at, t.id))
        if not _redeliverable(newest.status_code):
            continue
        if now - newest.delivered_at < settings.settle_seconds:
            continue
        if sum(t.redelivery for t in tries) >= settings.max_redeliveries:
            continue
        if accepted(guid):
            accepted_after_all += 1
            continue
        chosen.append(newest)
    chosen.sort(key=lambda t: t.delivered_at)  # oldest first: nearest to GitHub's window
    return chosen, accepted_after_all


def sweep(
    source: DeliverySource,
    client: redis.Redis[bytes],
    *,
    ledger_prefix: str,
    now: float,
    settings: SweepSettings = SweepSettings(),
) -> SweepResult:
    """One pass: list, plan, claim, redeliver. GitHub errors end the pass early (logged);
    the next beat starts over, and the claims keep it from asking twice."""
    try:
        attempts = list(source.hook_deliveries(now - settings.lookback_seconds))
    except GitHubError as exc:
        log.warning("could not list webhook deliveries", error=str(exc))
        return SweepResult(errors=1)

    def accepted(guid: str) -> bool:
        return bool(client.exists(ledger_prefix + guid))

    plan, accepted_after_all = plan_redeliveries(
        attempts, accepted=accepted, now=now, settings=settings
    )
    redelivered = errors = 0
    for attempt in plan[: settings.max_per_sweep]:
        claim = settings.claim_prefix + attempt.guid
        if not client.set(claim, attempt.id, nx=True, ex=settings.claim_seconds):
            continue
        try:
            source.redeliver(attempt.id)
        except GitHubError as exc:
            errors += 1
            client.delete(claim)
            log.warning(
                "redelivery refused", delivery_id=attempt.guid, attempt=attempt.id, error=str(exc)
            )
            continue
        redelivered += 1
        log.info(
            "delivery redelivered",
            delivery_id=attempt.guid,
            attempt=attempt.id,
            github_event=attempt.event,
            status_code=attempt.status_code,
        )
    result = SweepResult(
        attempts=len(attempts),
        failed_events=len(plan) + accepted_after_all,
        already_accepted=accepted_after_all,
        redelivered=redelivered,
        errors=errors,
    )
    log.info(
        "redelivery sweep",
        attempts=result.attempts,
        failed_events=result.failed_events,
        redelivered=result.redelivered,
        errors=result.errors,
    )
    return result
