"""The Redis cache of competitions (cache-aside), for GET /competitions and /competitions/{id}.

- A value lives until the next moment it could change on its own: ``until(value)``
  says when that is (the next start or end of a competition it shows), asked only
  when the value is about to be stored, and the TTL is the time left until then,
  never more than ``max_ttl``.
- Every create or edit bumps a version number that is part of every key, so all
  cached answers are invalidated at once, across replicas, in one INCR.
- A burst of misses for one key reaches the database once: within a process the
  first miss's load is shared, and across processes a short Redis lock lets one
  load while the others wait briefly for its value.
- Values are pydantic models (or what a ``TypeAdapter`` validates): stored as their
  JSON and validated back into the same type on a hit, so a hit and a miss return alike.
- Redis unreachable: answers come straight from the database; the outage is logged
  when it starts and when it ends, and Redis is tried again after a pause.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter
from redis.asyncio import Redis

from litcomp.kit import metrics
from litcomp.kit.redis import REDIS_ERRORS, Outage
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")


LOCK_MS = 2000
WAIT_FOR_OTHERS = 1.0
RETRY_REDIS_AFTER = 5.0


class CompetitionCache:
    def __init__(self, redis: Redis | None, *, prefix: str, max_ttl: float = 60.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:cache:competitions"
        self._max_ttl = max_ttl
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._outage = Outage(
            log,
            "cache unavailable, serving from the database",
            "cache available again",
            retry_after=RETRY_REDIS_AFTER,
        )

    async def get(
        self,
        key: str,
        adapter: TypeAdapter[T],
        load: Callable[[], Awaitable[T]],
        until: Callable[[T], Awaitable[datetime | None]],
    ) -> T:
        """The value for ``key``, from Redis if it has it (validated by ``adapter``), else
        from ``load``; ``until(value)`` says when a loaded value stops being true."""
        redis = self._usable()
        if redis is None:
            metrics.CACHE_LOOKUPS.labels("competitions", "bypass").inc()
            return await load()
        try:
            version = int(await redis.get(self._version_key) or 0)
            full_key = f"{self._prefix}:v{version}:{key}"
            cached = await redis.get(full_key)
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return await load()
        self._outage.succeeded()
        if cached is not None:
            metrics.CACHE_LOOKUPS.labels("competitions", "hit").inc()
            return adapter.validate_json(cached)
        metrics.CACHE_LOOKUPS.labels("competitions", "miss").inc()
        return await self._load_once(redis, full_key, adapter, load, until)

    async def invalidate(self) -> None:
        """Forget every cached answer (after a create or an edit).

        Tried even while this replica is backing off from Redis: other replicas may
        be reading from it.
        """
        if self._redis is None:
            return
        try:
            await self._redis.incr(self._version_key)
        except REDIS_ERRORS as error:
            self._outage.failed(error)

    @property
    def _version_key(self) -> str:
        return f"{self._prefix}:version"

    async def _load_once(
        self,
        redis: Redis,
        full_key: str,
        adapter: TypeAdapter[T],
        load: Callable[[], Awaitable[T]],
        until: Callable[[T], Awaitable[datetime | None]],
    ) -> T:
        shared = self._loading.get(full_key)
        if shared is not None:
            value: T = await asyncio.shield(shared)
            return value
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[full_key] = future
        try:
            value = await self._load_across_processes(redis, full_key, adapter, load, until)
            future.set_result(value)
            return value
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unshared failure is not logged twice
            raise
        finally:
            del self._loading[full_key]

    async def _load_across_processes(
        self,
        redis: Redis,
        full_key: str,
        adapter: TypeAdapter[T],
        load: Callable[[], Awaitable[T]],
        until: Callable[[T], Awaitable[datetime | None]],
    ) -> T:
        try:
            leader = await redis.set(f"{full_key}:lock", "1", nx=True, px=LOCK_MS)
            if not leader:
                waited = await self._wait_for_value(redis, full_key)
                if waited is not None:
                    return adapter.validate_json(waited)
        except REDIS_ERRORS as error:
            self._outage.failed(error)
            return await load()
        try:
            value = await load()
            await self._store(redis, full_key, adapter.dump_json(value), await until(value))
            return value
        finally:
            if leader:  # a follower that gave up waiting leaves the leader's lock alone
                with contextlib.suppress(*REDIS_ERRORS):
                    await redis.delete(f"{full_key}:lock")

    async def _wait_for_value(self, redis: Redis, full_key: str) -> bytes | str | None:
        deadline = time.monotonic() + WAIT_FOR_OTHERS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            cached: bytes | str | None = await redis.get(full_key)
            if cached is not None:
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
                await redis.set(full_key, value, px=int(ttl * 1000))
        except REDIS_ERRORS as error:
            self._outage.failed(error)

    def _usable(self) -> Redis | None:
        if self._redis is None or not self._outage.may_try():
            return None
        return self._redis
