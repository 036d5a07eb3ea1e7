"""Rate limiting per client IP with token buckets.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens per second; each
request takes one. An empty bucket means 429, with the seconds until the next token
as Retry-After. With Redis the buckets are shared by every gateway replica, two ways:

- ``RedisLimiter`` (login and register): one atomic script per request, on Redis's
  clock, so replicas together allow no more than one bucket's worth of guesses. A
  Redis that hangs (paused, partitioned) must not hold requests: a check waits
  ``timeout`` for it at most, and after a failure the local buckets decide alone for
  ``retry_after`` seconds, when one request tries Redis again.
- ``SyncedLimiter`` (everything else): each replica decides on its own buckets at once
  and, every ``every`` seconds, sends Redis the tokens it took per key and takes back
  the shared level. A round trip per request cost the gateway 4.7x its CPU per request
  (bench/README.md); this costs replicas an overshoot of at most what each takes
  between two syncs (and one burst on a key it has not seen before).

Without Redis, or while it is down, each gateway keeps its own buckets.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from litcomp.kit.redis import REDIS_ERRORS, Outage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: int


class Limiter(Protocol):
    """``check`` decides at once (buckets in memory) or gives an awaitable (in Redis)."""

    def check(self, key: str, limit: "Limit") -> "Decision | Awaitable[Decision]": ...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Decision(True)  # the common answer, made once


def take(tokens: float, elapsed: float, limit: Limit) -> tuple[float, Decision]:
    """Refill a bucket holding ``tokens`` after ``elapsed`` seconds, then take one.

    Returns the tokens left and the decision.
    """
    tokens += elapsed * limit.rate
    if tokens > limit.burst:
        tokens = float(limit.burst)
    if tokens >= 1:
        return tokens - 1, ALLOWED
    return tokens, Decision(False, (1 - tokens) / limit.rate)


class MemoryLimiter:
    """Buckets in this process; the least recently used are forgotten past ``max_keys``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._max_keys = max_keys
        # Oldest use first: a bucket is taken out and put back at the end on each use.
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str, limit: Limit) -> Decision:
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            tokens, decision = take(float(limit.burst), 0.0, limit)
        else:
            tokens, decision = take(bucket[0], now - bucket[1], limit)
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
        return decision

    def level(self, key: str, tokens: float) -> None:
        """Set a bucket's tokens as of now (the shared level, from ``SyncedLimiter``)."""
        self._buckets.pop(key, None)
        self._buckets[key] = (tokens, self._clock())


# The scripts below, in Redis on Redis's clock: KEYS[1]'s bucket (ARGV: rate, burst)
# refilled to now, then changed, then stored to expire once it would be full again.
_REFILL = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
"""
_STORE = """
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
"""
# take(): one token if there is one. Returns {allowed, retry_ms}.
_TAKE = (
    _REFILL
    + """
local allowed, retry_ms = 0, math.ceil((1 - tokens) / rate * 1000)
if tokens >= 1 then tokens, allowed, retry_ms = tokens - 1, 1, 0 end
"""
    + _STORE
    + "return {allowed, retry_ms}\n"
)
# ARGV[3] tokens at once, taken between syncs: the level may go below zero (what
# replicas allowed beyond the bucket), down to -burst. Returns the level.
_TAKE_N = (
    _REFILL
    + "tokens = math.max(-burst, tokens - tonumber(ARGV[3]))\n"
    + _STORE
    + "return tostring(tokens)\n"
)


def _outage(retry_after: float = 0.0, clock: Callable[[], float] = time.monotonic) -> Outage:
    return Outage(
        log,
        "rate limits kept locally while Redis is unreachable",
        "rate limits shared through Redis again",
        retry_after=retry_after,
        clock=clock,
    )


class RedisLimiter:
    """Buckets shared through Redis; falls back to ``fallback`` while Redis is down."""

    def __init__(
        self,
        redis: Redis,
        fallback: MemoryLimiter,
        prefix: str,
        *,
        timeout: float = 0.25,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._script = redis.register_script(_TAKE)
        self._fallback = fallback
        self._prefix = prefix
        self._timeout = timeout
        self._outage = _outage(retry_after, clock)

    def check(self, key: str, limit: Limit) -> Decision | Awaitable[Decision]:
        """The shared bucket's decision, to await; while Redis is down, the local
        buckets' at once (no coroutine, nor a task in the gateway, per request)."""
        if self._outage.may_try():
            return self._shared(key, limit)
        return self._fallback.check(key, limit)

    async def _shared(self, key: str, limit: Limit) -> Decision:
        try:
            async with asyncio.timeout(self._timeout):
                allowed, retry_ms = await self._script(
                    keys=[f"{self._prefix}:{key}"], args=[limit.rate, limit.burst]
                )
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return self._fallback.check(key, limit)
        self._outage.succeeded()
        return Decision(bool(allowed), int(retry_ms) / 1000)


class SyncedLimiter:
    """Buckets decided in this process and shared through Redis every ``every`` seconds
    (``run``, a background task): see the module's docstring."""

    def __init__(
        self,
        redis: Redis,
        local: MemoryLimiter,
        prefix: str,
        *,
        every: float = 0.1,
        timeout: float = 0.25,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(_TAKE_N)
        self._local = local
        self._prefix = prefix
        self._every = every
        self._timeout = timeout
        self._taken: dict[str, tuple[int, Limit]] = {}  # since the last sync
        self._outage = _outage()

    def check(self, key: str, limit: Limit) -> Decision:
        decision = self._local.check(key, limit)
        if decision.allowed:
            taken = self._taken.get(key)
            self._taken[key] = (1 if taken is None else taken[0] + 1, limit)
        return decision

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sync()
            except Exception:  # a bug: say so, and keep the limits shared after it
                log.exception("rate limit sync failed")

    async def sync(self) -> None:
        """Send the tokens taken per key since the last sync; take back each shared level
        (less what was taken here meanwhile). A failed sync's tokens are not sent again."""
        taken, self._taken = self._taken, {}
        if not taken:
            return
        try:
            async with asyncio.timeout(self._timeout):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, (count, limit) in taken.items():
                        await self._script(
                            keys=[f"{self._prefix}:{key}"],
                            args=[limit.rate, limit.burst, count],
                            client=pipe,
                        )
                    levels = await pipe.execute()
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return
        self._outage.succeeded()
        for key, level in zip(taken, levels, strict=True):
            since = self._taken.get(key)
            self._local.level(key, float(level) - (0 if since is None else since[0]))
