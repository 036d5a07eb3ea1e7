"""The registry contract, kept by both stores discovery can use.

An instance is listed from its registration until ``ttl`` seconds after its last
heartbeat, or until it deregisters; lists are ordered by service, then id. The same
tests run against MemoryRegistry (on a fake clock) and RedisRegistry (on a real
Redis, with real, short leases, under a prefix of its own that is deleted after).
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from litcomp.discovery.registry import MemoryRegistry, RedisRegistry, Registry
from litcomp.kit.balancer import Instance
from tests.support import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/0"
TTL = 0.3  # seconds; real ones for Redis, so keep them short


@dataclass
class Store:
    registry: Registry
    wait: Callable[[float], Awaitable[None]]  # let time pass, fake or real


def instance(
    service: str = "users",
    instance_id: str = "users-1",
    *,
    host: str = "10.0.0.5",
    http_port: int = 8001,
    grpc_port: int = 0,
    version: str = "",
    load: int = 0,
) -> Instance:
    return Instance(service, instance_id, host, http_port, grpc_port, version, load)


async def delete_prefix(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    prefix = f"litcomp-test:{uuid4().hex}"
    yield prefix
    await delete_prefix(redis, prefix)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        clock = FakeClock()

        async def advance(seconds: float) -> None:
            clock.now += seconds

        yield Store(MemoryRegistry(clock=clock), advance)
        return
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = f"litcomp-test:{uuid4().hex}"
    try:
        yield Store(RedisRegistry(redis, prefix=prefix), asyncio.sleep)
    finally:
        await delete_prefix(redis, prefix)
        await redis.aclose()


class TestRegistryContract:
    async def test_a_registered_instance_is_listed_as_registered(self, store: Store) -> None:
        users = instance(grpc_port=9001, version="1.2.3", load=4)
        await store.registry.register(users, TTL)
        assert await store.registry.instances() == [users]
        assert await store.registry.instances("users") == [users]

    async def test_nothing_is_listed_at_first(self, store: Store) -> None:
        assert await store.registry.instances() == []
        assert await store.registry.instances("users") == []

    async def test_listing_by_service_and_all(self, store: Store) -> None:
        users = instance("users", "u-1")
        first = instance("competitions", "c-1", http_port=8002)
        second = instance("competitions", "c-2", http_port=8003)
        for one in (users, first, second):
            await store.registry.register(one, TTL)
        assert await store.registry.instances("users") == [users]
        assert await store.registry.instances("competitions") == [first, second]
        assert await store.registry.instances("notifications") == []
        assert await store.registry.instances() == [first, second, users]

    async def test_lists_are_ordered_by_service_then_id(self, store: Store) -> None:
        registered = [
            instance("users", "b"),
            instance("competitions", "c"),
            instance("users", "a"),
            instance("competitions", "a"),
            instance("users", "c"),
        ]
        for one in registered:
            await store.registry.register(one, TTL)
        listed = [(i.service, i.instance_id) for i in await store.registry.instances()]
        assert listed == [
            ("competitions", "a"),
            ("competitions", "c"),
            ("users", "a"),
            ("users", "b"),
            ("users", "c"),
        ]
        listed_users = [i.instance_id for i in await store.registry.instances("users")]
        assert listed_users == ["a", "b", "c"]

    async def test_registering_again_replaces_the_instance(self, store: Store) -> None:
        await store.registry.register(instance(http_port=8001, version="1", load=9), TTL)
        moved = instance(host="10.0.0.6", http_port=8011, grpc_port=9011, version="2")
        await store.registry.register(moved, TTL)
        assert await store.registry.instances() == [moved]

    async def test_registering_again_renews_the_lease(self, store: Store) -> None:
        await store.registry.register(instance(), TTL)
        await store.wait(TTL * 0.6)
        await store.registry.register(instance(), TTL)
        await store.wait(TTL * 0.6)
        assert await store.registry.instances() == [instance()]

    async def test_heartbeat_extends_the_lease_and_records_the_load(self, store: Store) -> None:
        await store.registry.register(instance(load=0), TTL)
        await store.wait(TTL * 0.5)
        assert await store.registry.heartbeat("users", "users-1", 7, TTL)
        await store.wait(TTL * 0.6)  # past the first lease, well within the second
        assert await store.registry.instances() == [instance(load=7)]
        await store.wait(TTL * 0.6)
        assert await store.registry.instances() == []

    async def test_heartbeat_of_an_unknown_instance_is_false_and_registers_nothing(
        self, store: Store
    ) -> None:
        await store.registry.register(instance("users", "users-1"), TTL)
        assert not await store.registry.heartbeat("users", "users-2", 1, TTL)
        assert not await store.registry.heartbeat("competitions", "users-1", 1, TTL)
        assert await store.registry.instances() == [instance("users", "users-1")]

    async def test_an_instance_that_stops_heartbeating_expires(self, store: Store) -> None:
        await store.registry.register(instance(), TTL)
        await store.wait(TTL * 0.5)
        assert await store.registry.instances() == [instance()]
        await store.wait(TTL * 0.8)
        assert await store.registry.instances() == []
        assert await store.registry.instances("users") == []

    async def test_an_expired_instance_cannot_be_revived_by_a_heartbeat(self, store: Store) -> None:
        await store.registry.register(instance(), TTL)
        await store.wait(TTL * 1.3)
        assert not await store.registry.heartbeat("users", "users-1", 1, TTL)
        assert await store.registry.instances() == []

    async def test_leases_are_per_instance(self, store: Store) -> None:
        await store.registry.register(instance("users", "kept"), TTL)
        await store.registry.register(instance("users", "dropped"), TTL)
        await store.wait(TTL * 0.5)
        assert await store.registry.heartbeat("users", "kept", 2, TTL)
        await store.wait(TTL * 0.6)
        assert await store.registry.instances() == [instance("users", "kept", load=2)]

    async def test_deregistered_instances_are_gone_at_once(self, store: Store) -> None:
        await store.registry.register(instance("users", "a"), TTL)
        await store.registry.register(instance("users", "b"), TTL)
        await store.registry.deregister("users", "a")
        assert await store.registry.instances() == [instance("users", "b")]
        assert not await store.registry.heartbeat("users", "a", 0, TTL)

    async def test_deregistering_an_unknown_instance_is_harmless(self, store: Store) -> None:
        await store.registry.register(instance(), TTL)
        await store.registry.deregister("users", "nobody")
        await store.registry.deregister("nobody", "users-1")
        assert await store.registry.instances() == [instance()]


class TestRedisRegistry:
    async def test_an_expired_id_leaves_the_service_index(self, redis: Redis, prefix: str) -> None:
        registry = RedisRegistry(redis, prefix=prefix)
        await registry.register(instance("users", "gone"), TTL)
        await registry.register(instance("users", "kept"), 10)
        index = f"{prefix}:service:users"
        assert await redis.smembers(index) == {"gone", "kept"}
        await asyncio.sleep(TTL * 1.3)
        assert await registry.instances("users") == [instance("users", "kept")]
        assert await redis.smembers(index) == {"kept"}

    async def test_deregistering_removes_the_id_from_the_index(
        self, redis: Redis, prefix: str
    ) -> None:
        registry = RedisRegistry(redis, prefix=prefix)
        await registry.register(instance(), 10)
        await registry.deregister("users", "users-1")
        assert await redis.smembers(f"{prefix}:service:users") == set()

    async def test_replicas_on_the_same_prefix_see_the_same_instances(self, prefix: str) -> None:
        clients = [Redis.from_url(REDIS_URL, decode_responses=True) for _ in range(2)]
        try:
            first, second = (RedisRegistry(client, prefix=prefix) for client in clients)
            await first.register(instance("users", "u-1"), 10)
            await second.register(instance("competitions", "c-1"), 10)
            both = [instance("competitions", "c-1"), instance("users", "u-1")]
            assert await first.instances() == both
            assert await second.instances() == both
            assert await second.heartbeat("users", "u-1", 5, 10)
            assert await first.instances("users") == [instance("users", "u-1", load=5)]
            await second.deregister("users", "u-1")
            assert await first.instances() == [instance("competitions", "c-1")]
        finally:
            for client in clients:
                await client.aclose()

    async def test_a_restarted_discovery_loses_nothing(self, prefix: str) -> None:
        before = Redis.from_url(REDIS_URL, decode_responses=True)
        await RedisRegistry(before, prefix=prefix).register(instance(load=3), 10)
        await before.aclose()
        after = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            restarted = RedisRegistry(after, prefix=prefix)
            assert await restarted.instances() == [instance(load=3)]
            assert await restarted.heartbeat("users", "users-1", 4, 10)
        finally:
            await after.aclose()

    async def test_other_prefixes_are_other_registries(self, redis: Redis, prefix: str) -> None:
        await RedisRegistry(redis, prefix=prefix).register(instance(), 10)
        other = RedisRegistry(redis, prefix=f"{prefix}:other")
        assert await other.instances() == []
        assert not await other.heartbeat("users", "users-1", 1, 10)


async def test_a_heartbeat_puts_its_instance_back_in_an_index_a_stale_prune_emptied(
    redis: Redis, prefix: str
) -> None:
    """Another replica may prune an id it saw expired just after the instance registered
    again; the instance's next heartbeat makes it listed again."""
    registry = RedisRegistry(redis, prefix=prefix)
    await registry.register(instance(load=1), 10)
    await redis.srem(f"{prefix}:service:users", "users-1")  # the stale prune
    assert await registry.instances("users") == []
    assert await registry.heartbeat("users", "users-1", 2, 10)
    assert await registry.instances("users") == [instance(load=2)]
