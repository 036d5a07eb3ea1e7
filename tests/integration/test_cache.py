"""The competitions cache against a real Redis: hits, invalidation, boundaries, bursts, outages."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from litcomp.competitions import cache as cache_module
from litcomp.competitions.cache import Answer, CompetitionCache, Loaded
from litcomp.kit.times import utcnow
from tests.support import free_port
from tests.support.redis import PrivateRedis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)  # bytes, as the service's cache client
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"litcomp-test-{uuid.uuid4().hex[:8]}"
    yield name
    async for key in redis.scan_iter(f"{name}:*"):
        await redis.delete(key)


class Source:
    """The database, as far as the cache can tell: counts its loads."""

    def __init__(self, value: Any, changes_at: datetime | None = None, delay: float = 0) -> None:
        self.value = value
        self.changes_at = changes_at
        self.delay = delay
        self.loads = 0
        self.stored: list[bool] = []  # what each load was told

    async def __call__(self, storing: bool) -> Loaded:
        self.loads += 1
        self.stored.append(storing)
        await asyncio.sleep(self.delay)
        return Answer(json.dumps(self.value).encode()), self.changes_at if storing else None


async def read(cache: CompetitionCache, key: str, source: Source) -> Any:
    """The value of the answer ``cache`` gives for ``key``, as JSON."""
    return json.loads((await cache.get(key, source)).body)


async def test_a_second_read_is_a_hit(redis: Redis, prefix: str):
    cache = CompetitionCache(redis, prefix=prefix)
    source = Source([{"title": "A"}])
    assert await read(cache, "list", source) == [{"title": "A"}]
    assert await read(cache, "list", source) == [{"title": "A"}]
    assert source.loads == 1
    assert source.stored == [True]  # asked when it changes, to be stored until then


async def test_a_hit_is_the_answer_a_miss_made_headers_included(redis: Redis, prefix: str):
    cache = CompetitionCache(redis, prefix=prefix)
    made = Answer(b'[{"title":"A\\nB","note":"\xc3\xa9"}]', {"X-Total-Count": "1"})

    loads = []

    async def load(_storing: bool) -> Loaded:
        loads.append(made)
        return made, None

    assert await cache.get("list", load) == made
    assert await cache.get("list", load) == made  # read back from Redis
    assert len(loads) == 1


async def test_a_write_invalidates_every_replicas_entries(redis: Redis, prefix: str):
    mine, theirs = CompetitionCache(redis, prefix=prefix), CompetitionCache(redis, prefix=prefix)
    source = Source({"title": "Old"})
    await read(mine, "one", source)
    source.value = {"title": "New"}
    await theirs.invalidate()
    assert await read(mine, "one", source) == {"title": "New"}
    assert source.loads == 2


async def test_nothing_outlives_the_next_start_or_end(redis: Redis, prefix: str):
    cache = CompetitionCache(redis, prefix=prefix)
    source = Source("before", changes_at=utcnow() + timedelta(seconds=0.3))
    assert await read(cache, "list", source) == "before"
    source.value, source.changes_at = "after", None
    assert await read(cache, "list", source) == "before"  # still cached
    await asyncio.sleep(0.4)
    assert await read(cache, "list", source) == "after"
    assert source.loads == 2


async def test_a_value_already_past_its_boundary_is_not_stored(redis: Redis, prefix: str):
    cache = CompetitionCache(redis, prefix=prefix)
    source = Source("stale at once", changes_at=utcnow() - timedelta(seconds=1))
    await read(cache, "list", source)
    await read(cache, "list", source)
    assert source.loads == 2


async def test_a_burst_of_misses_loads_once_even_across_replicas(redis: Redis, prefix: str):
    replicas = [CompetitionCache(redis, prefix=prefix) for _ in range(2)]
    source = Source(["slow"], delay=0.2)
    answers = await asyncio.gather(*(read(replicas[n % 2], "list", source) for n in range(100)))
    assert answers == [["slow"]] * 100
    assert source.loads == 1


class Lookups:
    """Counts the cache's lookups (EVALSHA) on a real client. ``hold`` keeps each reply,
    once Redis has made it, from reaching the cache until ``release``, so a test can act
    while a lookup is in flight; ``fail`` turns the replies held into a Redis error."""

    def __init__(self, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent = 0
        self.in_flight = asyncio.Event()
        self._open = asyncio.Event()
        self._open.set()
        self._failing = False
        real = redis.evalsha

        async def evalsha(*args: Any) -> Any:
            self.sent += 1
            answer = await real(*args)
            self.in_flight.set()
            await self._open.wait()
            if self._failing:
                raise RedisConnectionError("connection lost")
            return answer

        monkeypatch.setattr(redis, "evalsha", evalsha)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def fail(self) -> None:
        self._failing = True
        self.release()


async def cached(
    value: Any, redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[CompetitionCache, Source, Lookups]:
    """A cache holding ``value`` under "one", its source, and its lookups from now on."""
    cache = CompetitionCache(redis, prefix=prefix)
    source = Source(value)
    await read(cache, "one", source)
    return cache, source, Lookups(redis, monkeypatch)


async def test_hits_that_start_together_share_one_round_trip(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    cache, source, lookups = await cached({"title": "Hot"}, redis, prefix, monkeypatch)
    answers = await asyncio.gather(*(read(cache, "one", source) for _ in range(50)))
    assert answers == [{"title": "Hot"}] * 50
    assert lookups.sent == 1
    for _ in range(3):  # one after another: a round trip each
        await read(cache, "one", source)
    assert lookups.sent == 4
    assert source.loads == 1


async def test_a_read_that_starts_after_an_edit_sees_it_though_a_lookup_is_in_flight(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    cache, source, lookups = await cached({"title": "Old"}, redis, prefix, monkeypatch)
    lookups.hold()
    early = asyncio.create_task(read(cache, "one", source))
    await lookups.in_flight.wait()  # read by Redis, the reply not yet taken in
    source.value = {"title": "New"}
    await cache.invalidate()  # an edit, acknowledged
    late = asyncio.create_task(read(cache, "one", source))
    lookups.release()
    assert await late == {"title": "New"}  # its own lookup, not the one in flight
    assert await early == {"title": "Old"}  # it began before the edit
    assert lookups.sent == 2


async def test_a_reader_who_goes_away_does_not_cancel_the_others_lookup(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    cache, source, lookups = await cached({"title": "Shared"}, redis, prefix, monkeypatch)
    lookups.hold()
    readers = [asyncio.create_task(read(cache, "one", source)) for _ in range(3)]
    await lookups.in_flight.wait()
    readers[0].cancel()
    lookups.release()
    assert await asyncio.gather(*readers[1:]) == [{"title": "Shared"}] * 2
    assert readers[0].cancelled() and lookups.sent == 1


async def test_a_redis_error_reaches_every_reader_sharing_the_lookup(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    cache, source, lookups = await cached({"title": "Kept"}, redis, prefix, monkeypatch)
    lookups.hold()
    readers = [asyncio.create_task(read(cache, "one", source)) for _ in range(3)]
    await lookups.in_flight.wait()
    lookups.fail()
    assert await asyncio.gather(*readers) == [{"title": "Kept"}] * 3  # from the database
    assert lookups.sent == 1 and source.loads == 1 + 3
    assert len([r for r in caplog.records if "cache unavailable" in r.message]) == 1


async def test_a_lookup_stopped_before_it_was_sent_leaves_no_read_waiting(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    cache, source, lookups = await cached({"title": "Later"}, redis, prefix, monkeypatch)
    first = asyncio.create_task(read(cache, "one", source))
    await asyncio.sleep(0)  # the read has begun, its lookup's task not yet run
    for task in cache._sending:  # as a replica shutting down would
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(read(cache, "one", source), 2) == {"title": "Later"}
    assert lookups.sent == 1


async def test_without_redis_reads_go_to_the_database(caplog: pytest.LogCaptureFixture):
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    cache = CompetitionCache(dead, prefix="litcomp-test-dead")
    source = Source("from the database")
    for _ in range(5):
        assert await read(cache, "list", source) == "from the database"
    await cache.invalidate()
    assert source.loads == 5
    assert source.stored == [False] * 5  # nothing to store: not asked when it changes
    assert len([r for r in caplog.records if "cache unavailable" in r.message]) == 1
    await dead.aclose()


async def test_a_redis_that_never_answers_is_given_up_on_in_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The cache's client has no socket timeout of its own: the cache bounds each call."""
    monkeypatch.setattr(cache_module, "CALL_TIMEOUT", 0.2)

    connections: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # reads every command, answers none, until the client leaves

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    async with silent:
        cache = CompetitionCache.connect(
            f"redis://127.0.0.1:{port}/0", prefix="litcomp-test-silent"
        )
        # redis-py gives a client a 5 s socket timeout unless told otherwise.
        assert cache._redis is not None
        assert cache._redis.connection_pool.connection_kwargs["socket_timeout"] is None
        source = Source("from the database")
        started = asyncio.get_running_loop().time()
        assert await read(cache, "list", source) == "from the database"
        await cache.invalidate()
        assert asyncio.get_running_loop().time() - started < 1.0
        await cache.close()
        for writer in connections:
            writer.close()
            await writer.wait_closed()
    assert len([r for r in caplog.records if "cache unavailable" in r.message]) == 1


async def test_a_restarted_redis_is_taught_the_lookup_script_again():
    server = PrivateRedis(free_port())
    server.start()
    try:
        source = Source(["kept"])
        for _ in range(2):  # the second time on an empty Redis that knows no script
            async with Redis.from_url(server.url) as client:
                cache = CompetitionCache(client, prefix="litcomp-test-restarted")
                assert await read(cache, "list", source) == ["kept"]
                assert await read(cache, "list", source) == ["kept"]
            server.stop()
            server.start()
        assert source.loads == 2  # one miss each time, then a hit
    finally:
        server.stop()
