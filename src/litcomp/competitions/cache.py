"""The Redis cache of competitions (cache-aside), for GET /competitions and /competitions/{id}.

- What is cached is the answer itself: the JSON body as the route sends it and its
  headers (``Answer``). A hit is one Redis round trip at most and the bytes sent on: nothing
  is validated again or serialized twice (it was validated by its response model when
  it was made).
- An answer lives until the next moment it could change on its own: its ``load``
  says when that is (the next start or end of a competition it shows) when the answer
  is to be stored, and the TTL is the time left until then, never more than ``max_ttl``.
- Every create or edit bumps a version number that is part of every key, so all
  cached answers are invalidated at once, across replicas, in one INCR; a lookup
  reads the version and the answer under it in one script, one round trip.
- Lookups of one key that start in the same turn of the event loop share one round
  trip, sent once they have all started: each is answered by a Redis read made after
  it began, so an edit acknowledged before a read began is seen by it, as if each had
  sent its own. Under load a hot page costs a fraction of a round trip a read (the
  bench part floor: 0.08 lookups a hit at 32 connections, 3.1-3.4x the floor -> 2.0-2.2x);
  alone, a read pays ~5% more for the task that sends its lookup.
- A burst of misses for one key reaches the database once: within a process the
  first miss's load is shared, and across processes a short Redis lock lets one
  load while the others wait briefly for its value.
- Redis unreachable: answers come straight from the database; the outage is logged
  when it starts and when it ends, and Redis is tried again after a pause. A Redis
  that does not answer is given up on after ``CALL_TIMEOUT``: each call is bounded
  here, and the client (``CompetitionCache.connect``) is made without redis-py's socket
  timeout (5 s unless told otherwise), which runs every command's send as a task of its
  own (``asyncio.wait_for``): ~25 us of CPU a command.
"""

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from litcomp.kit import metrics
from litcomp.kit.redis import REDIS_ERRORS, Outage
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


LOCK_MS = 2000
WAIT_FOR_OTHERS = 1.0
RETRY_REDIS_AFTER = 5.0
CALL_TIMEOUT = 2.0
_HIT, _MISS, _BYPASS = (
    metrics.CACHE_LOOKUPS.labels("competitions", outcome) for outcome in ("hit", "miss", "bypass")
)
# The version, then the answer stored under it. The answer's key is made in the script,
# which a Redis Cluster would refuse (keys must be declared); litcomp's Redis is one server.
_LOOKUP = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. ':v' .. version .. ':' .. ARGV[2])}
"""
_LOOKUP_SHA = hashlib.sha1(_LOOKUP.encode()).hexdigest()


async def _bounded(call: Awaitable[T]) -> T:
    """``call``, given up on after ``CALL_TIMEOUT`` (TimeoutError, one of REDIS_ERRORS)."""
    async with asyncio.timeout(CALL_TIMEOUT):
        return await call


@dataclass(frozen=True)
class Answer:
    """An answer as cached: its JSON body, as sent, and the headers that go with it."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def dump(self) -> bytes:
        # Compact JSON holds no raw newline: the first one ends the headers.
        return json.dumps(self.headers).encode() + b"\n" + self.body

    @classmethod
    def parse(cls, stored: bytes) -> "Answer":
        headers, _, body = stored.partition(b"\n")
        return cls(body, json.loads(headers))


# A freshly made answer, and when it stops being true (None: only an edit changes it, or
# not asked). ``Load(storing)`` makes one; only when ``storing`` does it have to say when:
# without Redis, finding out would be work for nothing on every request.
Loaded = tuple[Answer, datetime | None]
Load = Callable[[bool], Awaitable[Loaded]]


class CompetitionCache:
    """``redis`` answers bytes (``decode_responses`` off): answers are sent as stored."""

    def __init__(self, redis: Redis | None, *, prefix: str, max_ttl: float = 60.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:cache:competitions"
        self._max_ttl = max_ttl
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._gathering: dict[str, asyncio.Future[list[Any]]] = {}
        self._sending: set[asyncio.Task[list[Any]]] = set()  # held: the loop holds tasks weakly
        self._outage = Outage(
            log,
            "cache unavailable, serving from the database",
            "cache available again",
            retry_after=RETRY_REDIS_AFTER,
        )

    @classmethod
    def connect(cls, redis_url: str | None, *, prefix: str) -> "CompetitionCache":
        """A cache on its own client of the Redis at ``redis_url`` (None: no cache).

        The client answers bytes, which are sent on as they are, and has no socket
        timeout: each call is bounded here instead (``_bounded``).
        """
        redis = Redis.from_url(redis_url, socket_timeout=None) if redis_url else None
        return cls(redis, prefix=prefix)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def get(self, key: str, load: Load) -> Answer:
        """The answer for ``key``, from Redis if it has it, else made by ``load``."""
        redis = self._usable()
        if redis is None:
            _BYPASS.inc()
            return (await load(False))[0]
        try:
            version, cached = await self._lookup(redis, key)
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return (await load(False))[0]
        self._outage.succeeded()
        if cached is not None:
            _HIT.inc()
            return Answer.parse(cached)
        _MISS.inc()
        return await self._load_once(redis, f"{self._prefix}:v{int(version)}:{key}", load)

    async def _lookup(self, redis: Redis, key: str) -> list[Any]:
        """The version and the answer under it, in a round trip shared by the lookups of
        ``key`` that start in this turn of the event loop (it is sent in the next)."""
        gathering = self._gathering.get(key)
        if gathering is None:
            gathering = asyncio.get_running_loop().create_future()
            self._gathering[key] = gathering
            task = asyncio.create_task(self._send_lookup(redis, key))
            self._sending.add(task)
            task.add_done_callback(functools.partial(self._settle, key, gathering))
        # Shielded: a reader who goes away must not cancel the others' lookup.
        return await asyncio.shield(gathering)

    async def _send_lookup(self, redis: Redis, key: str) -> list[Any]:
        del self._gathering[key]  # a lookup that starts from now on sends its own
        return await self._evalsha(redis, key)

    def _settle(
        self, key: str, gathering: asyncio.Future[list[Any]], task: asyncio.Task[list[Any]]
    ) -> None:
        """Hand the sharers what the lookup's task came to, however it ended: cancelled
        before it ran (at shutdown), its key is still gathering, and must not be."""
        self._sending.discard(task)
        if self._gathering.get(key) is gathering:
            del self._gathering[key]
        if task.cancelled():
            gathering.cancel()
        elif (error := task.exception()) is not None:
            gathering.set_exception(error)
            gathering.exception()  # retrieved: when every sharer has gone, nobody else will
        else:
            gathering.set_result(task.result())

    async def _evalsha(self, redis: Redis, key: str) -> list[Any]:
        # EVALSHA itself, not redis-py's Script wrapper: ~14 us less on every hit.
        keys_and_args = (self._version_key, self._prefix, key)
        try:
            return await _bounded(redis.evalsha(_LOOKUP_SHA, 1, *keys_and_args))
        except NoScriptError:  # a Redis restarted or flushed: EVAL loads it again
            return await _bounded(redis.eval(_LOOKUP, 1, *keys_and_args))

    async def invalidate(self) -> None:
        """Forget every cached answer (after a create or an edit).

        Tried even while this replica is backing off from Redis: other replicas may
        be reading from it.
        """
        if self._redis is None:
            return
        try:
            await _bounded(self._redis.incr(self._version_key))
        except REDIS_ERRORS as error:
            self._outage.failed(error)

    @property
    def _version_key(self) -> str:
        return f"{self._prefix}:version"

    async def _load_once(self, redis: Redis, full_key: str, load: Load) -> Answer:
        shared = self._loading.get(full_key)
        if shared is not None:
            answer: Answer = await asyncio.shield(shared)
            return answer
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[full_key] = future
        try:
            answer = await self._load_across_processes(redis, full_key, load)
            future.set_result(answer)
            return answer
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unshared failure is not logged twice
            raise
        finally:
            del self._loading[full_key]

    async def _load_across_processes(self, redis: Redis, full_key: str, load: Load) -> Answer:
        try:
            leader = await _bounded(redis.set(f"{full_key}:lock", "1", nx=True, px=LOCK_MS))
            if not leader:
                waited = await self._wait_for_value(redis, full_key)
                if waited is not None:
                    return Answer.parse(waited)
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return (await load(False))[0]
        try:
            answer, changes_at = await load(True)
            await self._store(redis, full_key, answer.dump(), changes_at)
            return answer
        finally:
            if leader:  # a follower that gave up waiting leaves the leader's lock alone
                with contextlib.suppress(*REDIS_ERRORS):
                    await _bounded(redis.delete(f"{full_key}:lock"))

    async def _wait_for_value(self, redis: Redis, full_key: str) -> bytes | None:
        deadline = time.monotonic() + WAIT_FOR_OTHERS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            cached = await _bounded(redis.get(full_key))
            if isinstance(cached, bytes):  # decode_responses is off: bytes, or None
                return cached
        return None

    async def _store(
        self, redis: Redis, full_key: str, value: bytes, changes_at: datetime | None
    ) -> None:
        ttl = self._max_ttl
        if changes_at is not None:
            ttl = min(ttl, (changes_at - utcnow()).total_seconds())
        try:
            if ttl >= 0.001:
                await _bounded(redis.set(full_key, value, px=int(ttl * 1000)))
        except REDIS_ERRORS as error:
            self._outage.failed(error)

    def _usable(self) -> Redis | None:
        if self._redis is None or not self._outage.may_try():
            return None
        return self._redis
