"""The discovery client every instance uses: to be found, and to find others.

- ``Registration`` keeps this instance registered: it registers at start, heartbeats
  every third of the TTL with the instance's current load, registers again when
  discovery answers that it has forgotten the instance (a discovery restart without
  Redis), and deregisters on graceful stop.
- ``Watch`` keeps the instance lists of the services this process calls fresh. When
  discovery cannot be reached it keeps the last list it saw, so callers go on working.

Failures are logged once when an outage starts and once when it ends, not per attempt.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from typing import Any

import httpx

from litcomp.kit.background import Background
from litcomp.kit.balancer import Instance
from litcomp.kit.redis import Outage

log = logging.getLogger(__name__)

DEREGISTER_ATTEMPTS = 3
DEREGISTER_PAUSE = 0.2  # seconds between attempts
# Anything a call to discovery can fail with: the network, or an answer we cannot read.
DISCOVERY_ERRORS = (httpx.HTTPError, ValueError, KeyError, TypeError)


class DiscoveryClient:
    def __init__(self, base_url: str, *, timeout: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        # Not trust_env: an HTTP_PROXY meant for the outside world must not carry
        # the platform's own calls.
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def register(self, instance: Instance) -> float:
        """Register; returns the TTL within which the next heartbeat must come."""
        url = f"{self.base_url}/discovery/instances"
        response = await self._http.post(url, json=asdict(instance))
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return float(body["ttl_seconds"])

    async def heartbeat(self, instance: Instance, load: int) -> bool:
        """Extend the lease; False when discovery no longer knows the instance."""
        url = self._instance_url(instance) + "/heartbeat"
        response = await self._http.put(url, json={"load": load})
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    async def deregister(self, instance: Instance) -> None:
        response = await self._http.delete(self._instance_url(instance))
        response.raise_for_status()

    async def instances(self, service: str | None = None) -> list[Instance]:
        params = {"service": service} if service else {}
        url = f"{self.base_url}/discovery/instances"
        response = await self._http.get(url, params=params)
        response.raise_for_status()
        fields = Instance.__dataclass_fields__
        return [
            Instance(**{k: v for k, v in item.items() if k in fields})  # newer fields ignored
            for item in response.json()
        ]

    def _instance_url(self, instance: Instance) -> str:
        return f"{self.base_url}/discovery/instances/{instance.service}/{instance.instance_id}"

    async def close(self) -> None:
        await self._http.aclose()


def _outage(what: str) -> Outage:
    return Outage(log, f"{what} failed, retrying quietly", f"{what} works again")


class Registration(Background):
    def __init__(
        self, client: DiscoveryClient, instance: Instance, load: Callable[[], int]
    ) -> None:
        super().__init__()
        self.client = client
        self.instance = instance
        self._load = load
        self._registered = False
        self._interval = 1.0
        self._outage = _outage(f"registering {instance.service}/{instance.instance_id}")

    async def start(self) -> None:
        """Register once now (best effort), then keep the lease in the background."""
        await self._beat()
        self.start_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._beat()

    async def _beat(self) -> None:
        try:
            if self._registered:
                self._registered = await self.client.heartbeat(self.instance, self._load())
            if not self._registered:
                ttl = await self.client.register(self.instance)
                self._interval = ttl / 3
                self._registered = True
                log.info("registered with discovery", extra={"instance": asdict(self.instance)})
        except DISCOVERY_ERRORS as error:
            self._outage.failed(error)
        else:
            self._outage.succeeded()

    async def stop(self) -> None:
        """Deregister, trying thrice, ``DEREGISTER_PAUSE`` apart: a discovery whose Redis
        has just come back fails a call on each of its stale pooled connections once (503),
        and an instance that is not deregistered is routed to until its TTL runs out."""
        await super().stop()
        for attempt in range(1, DEREGISTER_ATTEMPTS + 1):
            try:
                await self.client.deregister(self.instance)
                log.info("deregistered from discovery")
                return
            except DISCOVERY_ERRORS as error:
                if attempt == DEREGISTER_ATTEMPTS:
                    log.warning("could not deregister: %r", error)
                else:
                    await asyncio.sleep(DEREGISTER_PAUSE)


class Watch(Background):
    """Polls discovery for the instances of ``services`` and hands each list to ``update``."""

    def __init__(
        self,
        client: DiscoveryClient,
        services: Iterable[str],
        update: Callable[[str, list[Instance]], Awaitable[None] | None],
        *,
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.client = client
        self.services = list(services)
        self._update = update
        self._interval = interval
        self._outage = _outage("listing instances from discovery")

    async def start(self) -> None:
        await self.refresh()
        self.start_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.refresh()

    async def refresh(self) -> None:
        try:
            everything = await self.client.instances()
        except DISCOVERY_ERRORS as error:
            self._outage.failed(error)
            return
        self._outage.succeeded()
        for service in self.services:
            result = self._update(service, [i for i in everything if i.service == service])
            if result is not None:
                await result
