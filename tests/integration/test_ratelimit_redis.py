"""RedisLimiter against a real Redis: buckets shared by every gateway replica, and a
local fallback while Redis cannot be reached.

Each test uses keys under a prefix of its own and deletes them afterwards.
"""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from litcomp.gateway.ratelimit import Decision, Limit, MemoryLimiter, RedisLimiter, SyncedLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"

# Slow refill, so the few milliseconds between requests cannot add a token.
SLOW = Limit(rate=0.1, burst=3)


async def decide(limiter: RedisLimiter, key: str, limit: Limit) -> Decision:
    """As the gateway takes it: at once while Redis is down, else awaited."""
    decision = limiter.check(key, limit)
    return decision if isinstance(decision, Decision) else await decision


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    prefix = f"litcomp-test:{uuid4().hex}"
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


async def test_a_burst_is_allowed_then_refused_until_the_next_token(
    redis: Redis, prefix: str
) -> None:
    limiter = RedisLimiter(redis, MemoryLimiter(), prefix=prefix)
    decisions = [await decide(limiter, "198.51.100.1", SLOW) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    refused = decisions[-1]
    assert 9.0 < refused.retry_after <= 10.0  # one token at 0.1/s
    assert refused.retry_after_header == "10"


async def test_the_bucket_lives_in_redis_under_the_prefix_with_an_expiry(
    redis: Redis, prefix: str
) -> None:
    limiter = RedisLimiter(redis, MemoryLimiter(), prefix=prefix)
    await decide(limiter, "198.51.100.2", SLOW)
    key = f"{prefix}:198.51.100.2"
    tokens = await redis.hget(key, "tokens")
    assert tokens is not None
    assert float(tokens) == pytest.approx(2.0, abs=0.01)
    ttl_ms = await redis.pttl(key)
    assert 0 < ttl_ms <= 31_000  # burst / rate seconds, plus one


async def test_clients_have_buckets_of_their_own(redis: Redis, prefix: str) -> None:
    limiter = RedisLimiter(redis, MemoryLimiter(), prefix=prefix)
    for _ in range(3):
        await decide(limiter, "198.51.100.3", SLOW)
    assert not (await decide(limiter, "198.51.100.3", SLOW)).allowed
    assert (await decide(limiter, "198.51.100.4", SLOW)).allowed


async def test_two_gateway_replicas_share_one_bucket(prefix: str) -> None:
    first_redis, second_redis = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    try:
        first = RedisLimiter(first_redis, MemoryLimiter(), prefix=prefix)
        second = RedisLimiter(second_redis, MemoryLimiter(), prefix=prefix)
        assert (await decide(first, "198.51.100.5", SLOW)).allowed
        assert (await decide(second, "198.51.100.5", SLOW)).allowed
        assert (await decide(first, "198.51.100.5", SLOW)).allowed
        assert not (await decide(second, "198.51.100.5", SLOW)).allowed
        assert not (await decide(first, "198.51.100.5", SLOW)).allowed
    finally:
        await first_redis.aclose()
        await second_redis.aclose()


async def test_the_bucket_refills_on_redis_time(redis: Redis, prefix: str) -> None:
    fast = Limit(rate=20.0, burst=1)  # a token every 50 ms
    limiter = RedisLimiter(redis, MemoryLimiter(), prefix=prefix)
    assert (await decide(limiter, "198.51.100.6", fast)).allowed
    refused = await decide(limiter, "198.51.100.6", fast)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.05
    # Wait by Redis's own clock, which is the one the script reads.
    seconds, micros = await redis.time()
    start = seconds + micros / 1e6
    while True:
        seconds, micros = await redis.time()
        if seconds + micros / 1e6 - start > 0.06:
            break
        await asyncio.sleep(0.01)
    assert (await decide(limiter, "198.51.100.6", fast)).allowed


async def test_while_redis_is_unreachable_the_local_fallback_still_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    fallback = MemoryLimiter()
    limiter = RedisLimiter(unreachable, fallback, prefix=f"litcomp-test:{uuid4().hex}")
    try:
        with caplog.at_level(logging.WARNING, logger="litcomp.gateway.ratelimit"):
            decisions = [await decide(limiter, "198.51.100.7", SLOW) for _ in range(4)]
    finally:
        await unreachable.aclose()
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == pytest.approx(10.0, abs=0.1)
    # The buckets were the fallback's own: it refuses this client too.
    assert not fallback.check("198.51.100.7", SLOW).allowed
    # The outage is logged once, not per request.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


async def test_a_redis_that_hangs_holds_no_request_for_long() -> None:
    """A paused or partitioned Redis accepts connections and never answers: a check waits
    the timeout once, then the local buckets decide at once until it is tried again."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    hung = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    limiter = RedisLimiter(
        redis, MemoryLimiter(), prefix=f"litcomp-test:{uuid4().hex}", timeout=0.2, retry_after=5
    )
    loop = asyncio.get_running_loop()
    try:
        began = loop.time()
        assert (await decide(limiter, "198.51.100.8", SLOW)).allowed
        first = loop.time() - began
        began = loop.time()
        decisions = [await decide(limiter, "198.51.100.8", SLOW) for _ in range(3)]
        rest = loop.time() - began
    finally:
        await redis.aclose()
        hung.close()
    assert 0.2 <= first < 1.0
    assert rest < 0.1  # decided locally, without waiting on Redis
    assert [d.allowed for d in decisions] == [True, True, False]


# --- SyncedLimiter: decided locally, shared every sync ----------------------------------


async def test_synced_decisions_are_local_and_the_sync_shares_them(
    redis: Redis, prefix: str
) -> None:
    first = SyncedLimiter(redis, MemoryLimiter(), prefix=prefix)
    second = SyncedLimiter(redis, MemoryLimiter(), prefix=prefix)
    key = "198.51.100.20"
    assert [first.check(key, SLOW).allowed for _ in range(2)] == [True, True]  # no await
    assert await redis.hget(f"{prefix}:{key}", "tokens") is None  # nothing sent yet
    await first.sync()
    assert float(await redis.hget(f"{prefix}:{key}", "tokens")) == pytest.approx(1.0, abs=0.01)
    assert 0 < await redis.pttl(f"{prefix}:{key}") <= 31_000
    # The second replica has not seen the client: its own full bucket, until it syncs.
    assert second.check(key, SLOW).allowed
    await second.sync()  # the shared level: 3 - 2 - 1 = 0
    assert not second.check(key, SLOW).allowed
    assert first.check(key, SLOW).allowed  # its last view: 1 left
    await first.sync()  # 0 - 1: in debt, so refused until the bucket refills past it
    refused = first.check(key, SLOW)
    assert not refused.allowed
    assert 10.0 < refused.retry_after <= 20.0


async def test_taken_while_a_sync_waits_still_counts(redis: Redis, prefix: str) -> None:
    limiter = SyncedLimiter(redis, MemoryLimiter(), prefix=prefix)
    key = "198.51.100.21"
    limiter.check(key, SLOW)
    syncing = asyncio.create_task(limiter.sync())
    await asyncio.sleep(0)  # the sync has taken the count and waits on Redis
    assert limiter.check(key, SLOW).allowed  # the second token, taken meanwhile
    await syncing
    assert limiter.check(key, SLOW).allowed  # the third
    assert not limiter.check(key, SLOW).allowed
    await limiter.sync()
    assert float(await redis.hget(f"{prefix}:{key}", "tokens")) == pytest.approx(0.0, abs=0.01)


async def test_while_redis_is_unreachable_synced_limits_stay_local(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    limiter = SyncedLimiter(unreachable, MemoryLimiter(), prefix=f"litcomp-test:{uuid4().hex}")
    try:
        with caplog.at_level(logging.WARNING, logger="litcomp.gateway.ratelimit"):
            for _ in range(3):
                assert limiter.check("198.51.100.22", SLOW).allowed
                await limiter.sync()
    finally:
        await unreachable.aclose()
    assert not limiter.check("198.51.100.22", SLOW).allowed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
