"""Where discovery keeps instances: in Redis when configured, in memory otherwise.

Both stores keep the same promise: an instance is listed from its registration
until ``ttl`` seconds after its last heartbeat (or its deregistration). In Redis the
expiry is Redis's own, so a restarted discovery, or several discovery replicas,
see the same live set and lose nothing.
"""

import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Protocol

from redis.asyncio import Redis

from litcomp.kit.balancer import Instance


class Registry(Protocol):
    async def register(self, instance: Instance, ttl: float) -> None: ...

    async def heartbeat(self, service: str, instance_id: str, load: int, ttl: float) -> bool:
        """Extend the instance's lease; False if it is not (or no longer) registered."""
        ...

    async def deregister(self, service: str, instance_id: str) -> None: ...

    async def instances(self, service: str | None = None) -> list[Instance]:
        """Live instances of one service (or of all), ordered by service and id."""
        ...


class MemoryRegistry:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[tuple[str, str], tuple[Instance, float]] = {}

    async def register(self, instance: Instance, ttl: float) -> None:
        key = (instance.service, instance.instance_id)
        self._leases[key] = (instance, self._clock() + ttl)

    async def heartbeat(self, service: str, instance_id: str, load: int, ttl: float) -> bool:
        self._expire()
        lease = self._leases.get((service, instance_id))
        if lease is None:
            return False
        self._leases[(service, instance_id)] = (replace(lease[0], load=load), self._clock() + ttl)
        return True

    async def deregister(self, service: str, instance_id: str) -> None:
        self._leases.pop((service, instance_id), None)

    async def instances(self, service: str | None = None) -> list[Instance]:
        self._expire()
        return [
            instance
            for key, (instance, _) in sorted(self._leases.items())
            if service is None or key[0] == service
        ]

    def _expire(self) -> None:
        now = self._clock()
        for key in [key for key, (_, expires) in self._leases.items() if expires <= now]:
            del self._leases[key]


# Extend the lease and record the load only if the instance is still registered,
# in one step, so an expiry between the two cannot leave a lease-less record. The id
# goes (back) into the service's index too, whatever a concurrent prune did.
_HEARTBEAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'load', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""
# Drop ids from a service's index whose record is gone, checking each at the moment
# of removal: an instance that registered again since it was listed stays.
_PRUNE = """
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[2] .. id) == 0 then redis.call('SREM', KEYS[1], id) end
end
"""


class RedisRegistry:
    """One hash per instance with a Redis expiry, and a set of ids per service as index.

    Ids whose hash has expired are dropped from the index when next listed.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._prune = redis.register_script(_PRUNE)

    def _instance_key(self, service: str, instance_id: str) -> str:
        return f"{self._prefix}:instance:{service}:{instance_id}"

    def _index_key(self, service: str) -> str:
        return f"{self._prefix}:service:{service}"

    @property
    def _services_key(self) -> str:
        return f"{self._prefix}:services"

    async def register(self, instance: Instance, ttl: float) -> None:
        key = self._instance_key(instance.service, instance.instance_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={k: json.dumps(v) for k, v in asdict(instance).items()})
            pipe.pexpire(key, int(ttl * 1000))
            pipe.sadd(self._index_key(instance.service), instance.instance_id)
            pipe.sadd(self._services_key, instance.service)
            await pipe.execute()

    async def heartbeat(self, service: str, instance_id: str, load: int, ttl: float) -> bool:
        extended = await self._heartbeat(
            keys=[self._instance_key(service, instance_id), self._index_key(service)],
            args=[json.dumps(load), int(ttl * 1000), instance_id],
        )
        return bool(extended)

    async def deregister(self, service: str, instance_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._instance_key(service, instance_id))
            pipe.srem(self._index_key(service), instance_id)
            await pipe.execute()

    async def instances(self, service: str | None = None) -> list[Instance]:
        if service is None:
            services = sorted(str(name) for name in await self._redis.smembers(self._services_key))
        else:
            services = [service]
        found: list[Instance] = []
        for name in services:
            found.extend(await self._live(name))
        return found

    async def _live(self, service: str) -> list[Instance]:
        ids = sorted(str(i) for i in await self._redis.smembers(self._index_key(service)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance_id in ids:
                pipe.hgetall(self._instance_key(service, instance_id))
            records = await pipe.execute()
        expired = [i for i, record in zip(ids, records, strict=True) if not record]
        if expired:
            await self._prune(
                keys=[self._index_key(service), self._instance_key(service, "")], args=expired
            )
        return [
            Instance(**{name: json.loads(value) for name, value in record.items()})
            for record in records
            if record
        ]
