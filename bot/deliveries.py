"""The delivery ledger: which ``X-GitHub-Delivery`` ids and bodies were accepted, kept in Redis.

``accept`` runs one Lua script: if the delivery id is recorded, or the body
was accepted before under any delivery id (a replay: same bytes, same verified
signature, a new id), it answers with the recorded job id and does nothing
else; otherwise it pushes the job message on its queue and records the
delivery id and the body's digest, in the same atomic step. So a delivery
is recorded if and only if its job is queued: a broker outage (503) records
nothing and GitHub's redelivery is processed normally, and two concurrent
copies of one delivery cannot both enqueue. Both records live
``ttl_seconds`` (GitHub redelivers up to 3 days back, 7 on Enterprise Server) in
the broker's Redis, so they survive restarts of the receiver. The body's digest
is the HMAC-SHA256 the signature check already computed: no second hash.

The script is called by its SHA1 (``EVALSHA``), so each delivery sends only its
arguments; a Redis that does not know the script yet (fresh start, ``SCRIPT
FLUSH``, fail-over) answers ``NOSCRIPT`` and gets the full text once (``EVAL``,
which also caches it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.broker import BrokerClient, BrokerError, BrokerReplyError
from bot.errors import BrokerUnavailable
from codex_common.jobs import DELIVERY_KEY_PREFIX

_ACCEPTED = b"accepted:"

# Where accepted bodies are remembered, by digest. Not under DELIVERY_KEY_PREFIX: that
# prefix holds delivery ids only, one per accepted delivery.
BODY_KEY_PREFIX = "codex:body:"

# Record-and-enqueue in one atomic step: a delivery id or a body seen before returns its
# record; otherwise the job message is pushed on its queue and both records written.
ACCEPT_SCRIPT = b"""
local seen = redis.call('GET', KEYS[1])
if seen then return seen end
seen = redis.call('GET', KEYS[3])
if seen then return seen end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
return false
"""
ACCEPT_SHA = hashlib.sha1(ACCEPT_SCRIPT, usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class DeliveryLedger:
    client: BrokerClient
    ttl_seconds: int
    prefix: str = DELIVERY_KEY_PREFIX
    body_prefix: str = BODY_KEY_PREFIX

    def key(self, delivery_id: str) -> str:
        return self.prefix + delivery_id

    async def accept(
        self, delivery_id: str, body_digest: str, queue: str, message: bytes, job_id: str
    ) -> str | None:
        """Push ``message`` on ``queue`` and record the delivery, atomically, in one round trip.

        Returns ``None`` when this call accepted it, or the job id recorded earlier for
        a duplicate, by delivery id or by body (then nothing is pushed). Raises
        ``BrokerUnavailable``; then nothing was recorded and nothing was pushed, unless
        the reply alone was lost, in which case GitHub's redelivery is answered as a
        duplicate.
        """
        args = (
            self.key(delivery_id),
            queue,
            self.body_prefix + body_digest,
            message,
            _ACCEPTED + job_id.encode(),
            self.ttl_seconds,
        )
        try:
            seen = await self.client.call("EVALSHA", ACCEPT_SHA, 3, *args)
            if isinstance(seen, BrokerReplyError) and seen.code == "NOSCRIPT":
                seen = await self.client.call("EVAL", ACCEPT_SCRIPT, 3, *args)
            if isinstance(seen, BrokerReplyError):
                raise seen
        except BrokerError as exc:
            raise BrokerUnavailable("job queue unreachable") from exc
        if seen is None:
            return None
        if not isinstance(seen, bytes):
            raise BrokerUnavailable("unexpected reply from the job queue")
        return seen[len(_ACCEPTED) :].decode() if seen.startswith(_ACCEPTED) else ""
