"""Shared capacity: key selection and a Redis limiter every worker process obeys.

Per key (identified in Redis by a short hash, never the key itself):

* a concurrency semaphore: a sorted set of leases scored by expiry, so a
  worker killed mid-call frees its slot when the lease expires;
* a token window: each call reserves ``input_tokens + max_output_tokens``
  (what the provider counts at admission) for ``window_seconds``. The window
  of a call starts when it *ends*, so it outlives the provider's own count,
  and the reservation is only raised, never lowered, by the actual usage;
* the last rate-limit headers seen, from which the key with the most
  remaining capacity is chosen: keys known to have capacity first, then keys
  whose limits are not known yet, then keys known to be spent (a 429 cools a
  key until the reset it names);
* parking: a key the endpoint refuses (401, 403, ``insufficient_quota``) is not
  chosen again until its parking ends. Each parking is logged once, counted in
  Redis (``parks_by_reason``) and announced to ``PARK_LISTENERS``; when every key
  is parked, ``order`` raises ``NoUsableKey`` naming each key's reason.

Keys of one OpenAI project share one rate limit and one quota: several keys
only add capacity when they belong to different projects.

All check-and-take steps are Lua scripts, atomic across processes.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import redis
from pydantic import SecretStr

from codex_common.logs import get_logger
from workers.model.config import LimiterSettings
from workers.model.errors import CapacityTimeout, NoUsableKey
from workers.model.retry import parse_duration

log = get_logger("workers.model.keys")


@dataclass(frozen=True, slots=True)
class ParkedKey:
    """A key the pool stopped choosing: its fingerprint, position, why, and until when."""

    fingerprint: str
    key_index: int
    reason: str
    until: float


PARK_LISTENERS: Final[list[Callable[[ParkedKey], None]]] = []
"""Called once per parking (in the process that parked the key); metrics hook here."""

# Parking a key for a refused key or quota: long enough not to hammer it, short
# enough that a key fixed by its owner (billing paid, key restored) comes back.
PARK_SECONDS: Final = 3600.0


class Clock(Protocol):
    """Wall-clock seconds and sleeping; injected so tests can control time."""

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


_ACQUIRE = """
local now = tonumber(ARGV[1])
local lease = ARGV[2]
local lease_ttl = tonumber(ARGV[3])
local max_conc = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local est = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('HDEL', KEYS[3], unpack(old))
end
if redis.call('ZCARD', KEYS[1]) >= max_conc then
  return {0, 'concurrency', '0'}
end
if limit > 0 then
  local used = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do used = used + tonumber(v) end
  if used + est > limit then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    local wait = 0
    if #first > 0 then wait = tonumber(first[2]) + window - now end
    return {0, 'tokens', tostring(wait)}
  end
end
redis.call('ZADD', KEYS[1], now + lease_ttl, lease)
redis.call('ZADD', KEYS[2], now + lease_ttl, lease)
redis.call('HSET', KEYS[3], lease, est)
local ttl = math.ceil((lease_ttl + window) * 1000)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
return {1, 'ok', '0'}
"""

# The token entry was scored at lease expiry while in flight (it cannot age out
# mid-call); on release it is rescored to the end of the call.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
  if tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[3], ARGV[1])) then
    redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  end
end
return 1
"""


# Park once: a key already parked (by another call in flight) is left as it is.
_PARK = """
local parked = redis.call('HGET', KEYS[1], 'parked_until')
if parked and tonumber(parked) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'parked_until', ARGV[2], 'parked_reason', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]) + 3600)
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 1
"""


def key_fingerprint(key: SecretStr) -> str:
    """A short, non-reversible name for a key in Redis and logs."""
    return hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Lease:
    key_index: int
    lease_id: str
    estimated_tokens: int


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the last answer on a key said about its limits (absolute reset times)."""

    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_at: float | None = None
    remaining_requests: int | None = None
    reset_requests_at: float | None = None
    parked_until: float | None = None
    parked_reason: str | None = None
    cooling_until: float | None = None

    @classmethod
    def from_redis(cls, raw: Mapping[bytes, bytes]) -> KeyState:
        def number(name: str) -> float | None:
            value = raw.get(name.encode())
            return None if value is None else float(value)

        def integer(name: str) -> int | None:
            value = number(name)
            return None if value is None else int(value)

        return cls(
            limit_tokens=integer("limit_tokens"),
            remaining_tokens=integer("remaining_tokens"),
            reset_tokens_at=number("reset_tokens_at"),
            remaining_requests=integer("remaining_requests"),
            reset_requests_at=number("reset_requests_at"),
            parked_until=number("parked_until"),
            parked_reason=raw[b"parked_reason"].decode() if b"parked_reason" in raw else None,
            cooling_until=number("cooling_until"),
        )

    def parked(self, now: float) -> bool:
        return self.parked_until is not None and self.parked_until > now

    def rank(self, now: float) -> int:
        """0: known to have capacity; 1: limits not known; 2: known spent or cooling after a 429."""
        if self.cooling_until is not None and self.cooling_until > now:
            return 2
        tokens, requests = self.capacity(now)
        if min(tokens, requests) <= 0:
            return 2
        known = self.remaining_tokens is not None or self.remaining_requests is not None
        return 0 if known else 1

    def capacity(self, now: float) -> tuple[float, float]:
        """(tokens, requests) expected to be available now; unknown counts as plenty."""
        tokens: float = float("inf")
        if self.remaining_tokens is not None and (self.reset_tokens_at or 0) > now:
            tokens = self.remaining_tokens
        requests: float = float("inf")
        if self.remaining_requests is not None and (self.reset_requests_at or 0) > now:
            requests = self.remaining_requests
        return tokens, requests


def header_fields(headers: Mapping[str, str], now: float) -> dict[str, float]:
    """The rate-limit headers of one answer as absolute key-state fields."""
    lowered = {name.lower(): value for name, value in headers.items()}
    fields: dict[str, float] = {}
    for kind in ("tokens", "requests"):
        for part in ("limit", "remaining"):
            value = lowered.get(f"x-ratelimit-{part}-{kind}")
            if value is not None and value.strip().isdigit():
                fields[f"{part}_{kind}"] = float(value)
        reset = lowered.get(f"x-ratelimit-reset-{kind}")
        seconds = parse_duration(reset) if reset is not None else None
        if seconds is not None:
            fields[f"reset_{kind}_at"] = now + seconds
    return fields


class KeyPool:
    """Chooses keys and holds the shared limiter for one configured key list."""

    def __init__(
        self,
        keys: Sequence[SecretStr],
        client: redis.Redis[bytes],
        settings: LimiterSettings,
        clock: Clock,
        *,
        prefix: str,
    ) -> None:
        self._keys = tuple(keys)
        self._redis = client
        self._settings = settings
        self._clock = clock
        self._names = tuple(f"{prefix}:key:{key_fingerprint(key)}" for key in keys)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._park = client.register_script(_PARK)
        self._parks = f"{prefix}:key-parks"

    def secret(self, index: int) -> str:
        return self._keys[index].get_secret_value()

    def _redis_keys(self, index: int) -> list[str]:
        name = self._names[index]
        return [f"{name}:leases", f"{name}:tokens", f"{name}:amounts"]

    def state(self, index: int) -> KeyState:
        raw: Mapping[bytes, bytes] = self._redis.hgetall(f"{self._names[index]}:state")
        return KeyState.from_redis(raw)

    def order(self) -> list[int]:
        """Usable key indexes, best first (see ``KeyState.rank``); ``NoUsableKey`` if none."""
        now = self._clock.time()
        ranked: list[tuple[int, float, float, int]] = []
        parked: list[str] = []
        for index in range(len(self._keys)):
            state = self.state(index)
            if state.parked(now):
                parked.append(f"key {index + 1} ({state.parked_reason or 'refused'})")
                continue
            tokens, requests = state.capacity(now)
            ranked.append((state.rank(now), -tokens, -requests, index))
        if not ranked:
            raise NoUsableKey(
                "every configured OpenAI API key is refused by the API: "
                + "; ".join(parked)
                + ". Replace or top up the keys in OPENAI_API_KEY."
            )
        return [index for *_, index in sorted(ranked)]

    def has_fresh_key(self, besides: int) -> bool:
        """Whether a key other than ``besides`` is usable and not spent or cooling."""
        now = self._clock.time()
        for index in range(len(self._keys)):
            if index == besides:
                continue
            state = self.state(index)
            if not state.parked(now) and state.rank(now) < 2:
                return True
        return False

    def _token_limit(self, index: int) -> int:
        if self._settings.tokens_per_window is not None:
            return self._settings.tokens_per_window
        return self.state(index).limit_tokens or 0

    def acquire(self, estimated_tokens: int) -> Lease:
        """Take a slot and reserve tokens on the best key, waiting up to ``max_wait_seconds``."""
        settings = self._settings
        deadline = self._clock.time() + settings.max_wait_seconds
        while True:
            waits: list[float] = []
            order = self.order()
            for index in order:
                limit = self._token_limit(index)
                if 0 < limit < estimated_tokens:
                    continue
                lease_id = uuid.uuid4().hex
                ok, reason, wait = self._acquire(
                    keys=self._redis_keys(index),
                    args=[
                        repr(self._clock.time()),
                        lease_id,
                        settings.lease_seconds,
                        settings.max_concurrency,
                        limit,
                        estimated_tokens,
                        settings.window_seconds,
                    ],
                )
                if int(ok) == 1:
                    return Lease(index, lease_id, estimated_tokens)
                waits.append(float(wait) if reason == b"tokens" else settings.poll_seconds)
            if not waits:
                raise CapacityTimeout(
                    f"a call of {estimated_tokens} tokens exceeds every key's token limit"
                )
            remaining = deadline - self._clock.time()
            if remaining <= 0:
                raise CapacityTimeout(
                    f"no key had capacity for {estimated_tokens} tokens within "
                    f"{settings.max_wait_seconds}s"
                )
            self._clock.sleep(min(max(min(waits), settings.poll_seconds), remaining))

    def release(self, lease: Lease, actual_tokens: int | None) -> None:
        self._release(
            keys=self._redis_keys(lease.key_index),
            args=[lease.lease_id, repr(self._clock.time()), actual_tokens or 0],
        )

    def observe(self, index: int, headers: Mapping[str, str]) -> None:
        """Remember the rate-limit headers of an answer so every worker can rank keys."""
        fields = header_fields(headers, self._clock.time())
        if fields:
            name = f"{self._names[index]}:state"
            self._redis.hset(name, mapping=fields)  # type: ignore[arg-type]
            self._redis.expire(name, 3600)

    def parked_count(self) -> int:
        """How many keys are parked now (for the workers' metrics)."""
        return len(self.parked_keys())

    def cool(self, index: int, seconds: float) -> None:
        """Rank a key last for ``seconds`` (a 429 named that wait); it stays usable."""
        name = f"{self._names[index]}:state"
        self._redis.hset(name, "cooling_until", self._clock.time() + max(seconds, 0.0))
        self._redis.expire(name, int(seconds) + 3600)

    def park(self, index: int, reason: str, seconds: float = PARK_SECONDS) -> bool:
        """Stop choosing a key for ``seconds``; False when another call parked it already.

        The first parking is logged, counted in Redis and passed to ``PARK_LISTENERS``.
        """
        now = self._clock.time()
        until = now + seconds
        name = f"{self._names[index]}:state"
        first = bool(
            self._park(
                keys=[name, self._parks], args=[repr(now), repr(until), reason, int(seconds)]
            )
        )
        if first:
            parked = ParkedKey(key_fingerprint(self._keys[index]), index, reason, until)
            log.error(
                "model key parked",
                key_index=index,
                key=parked.fingerprint,
                reason=reason,
                seconds=int(seconds),
            )
            for listener in PARK_LISTENERS:
                listener(parked)
        return first

    def parked_keys(self) -> list[ParkedKey]:
        """The keys parked now, for health checks and ``doctor``."""
        now = self._clock.time()
        found: list[ParkedKey] = []
        for index, key in enumerate(self._keys):
            state = self.state(index)
            if state.parked(now) and state.parked_until is not None:
                reason = state.parked_reason or "refused"
                found.append(ParkedKey(key_fingerprint(key), index, reason, state.parked_until))
        return found

    def parks_by_reason(self) -> dict[str, int]:
        """How many times keys were parked, by reason, across every worker (a counter)."""
        raw: Mapping[bytes, bytes] = self._redis.hgetall(self._parks)
        return {name.decode(): int(value) for name, value in raw.items()}
