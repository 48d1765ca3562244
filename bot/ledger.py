"""The delivery ledger: which ``X-GitHub-Delivery`` ids were accepted, kept in Redis.

``accept`` runs one Lua script: if the delivery id is recorded, it answers with
the recorded job id and does nothing else; otherwise it pushes the job message
on its queue and records the delivery, in the same atomic step. So a delivery
is recorded if and only if its job is queued: a broker outage (503) records
nothing and GitHub's redelivery is processed normally, and two concurrent
copies of one delivery cannot both enqueue. Records live ``ttl_seconds``
(GitHub redelivers up to 3 days back, 7 on Enterprise Server) in the broker's
Redis, so they survive restarts of the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.errors import BrokerUnavailable

_ACCEPTED = b"accepted:"

# Record-and-enqueue in one atomic step: a delivery id seen before returns its record;
# otherwise the job message is pushed on its queue and the delivery recorded together.
_ACCEPT = """
local seen = redis.call('GET', KEYS[1])
if seen then return seen end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return false
"""


@dataclass(frozen=True, slots=True)
class DeliveryLedger:
    client: redis.Redis[bytes]
    ttl_seconds: int
    prefix: str = "codex:delivery:"

    def _key(self, delivery_id: str) -> str:
        return self.prefix + delivery_id

    def accept(self, delivery_id: str, queue: str, message: bytes, job_id: str) -> str | None:
        """Push ``message`` on ``queue`` and record the delivery, atomically, in one round trip.

        Returns ``None`` when this call accepted it, or the job id recorded earlier for
        a duplicate (then nothing is pushed). Raises ``BrokerUnavailable``; then nothing
        was recorded and nothing was pushed.
        """
        try:
            seen = self.client.eval(  # type: ignore[no-untyped-call]
                _ACCEPT,
                2,
                self._key(delivery_id),
                queue,
                message,
                _ACCEPTED + job_id.encode(),
                self.ttl_seconds,
            )
        except redis.RedisError as exc:
            raise BrokerUnavailable("job queue unreachable") from exc
        if seen is None:
            return None
        value = bytes(seen)
        return value[len(_ACCEPTED) :].decode() if value.startswith(_ACCEPTED) else ""

    def accepted_job(self, delivery_id: str) -> str | None:
        """The job id recorded for an accepted delivery, if any."""
        value = self.client.get(self._key(delivery_id))
        if isinstance(value, bytes) and value.startswith(_ACCEPTED):
            return value[len(_ACCEPTED) :].decode()
        return None
