"""The discovery client (kit.discovery) against a real discovery server.

The discovery app runs under uvicorn in the test's own event loop, on a free local
port, with the memory registry and the shortest TTL allowed (1 s), so a
``Registration`` heartbeats every third of a second. "Restarting discovery" starts a
fresh app, which has forgotten everything, on the same port.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvicorn

import litcomp.kit.discovery
from litcomp.discovery.app import create_app
from litcomp.discovery.settings import DiscoverySettings
from litcomp.kit.balancer import Instance
from litcomp.kit.discovery import DiscoveryClient, Registration, Watch
from tests.support import free_port

TTL = 1.0
SETTINGS = DiscoverySettings(redis_url=None, discovery_ttl_seconds=TTL)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 3.0) -> None:
    """Wait until ``check`` holds; fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"still not true after {within}s")
        await asyncio.sleep(0.05)


class DiscoveryServer:
    """One discovery app under uvicorn, which can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            create_app(SETTINGS),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            ws="none",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await eventually(self._started, within=5.0)

    async def _started(self) -> bool:
        assert self._server is not None and self._task is not None
        if self._task.done():
            self._task.result()  # raises what stopped it
            pytest.fail("the discovery server exited during startup")
        return self._server.started

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def discovery() -> AsyncIterator[DiscoveryServer]:
    server = DiscoveryServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(discovery: DiscoveryServer) -> AsyncIterator[DiscoveryClient]:
    client = DiscoveryClient(discovery.url)
    try:
        yield client
    finally:
        await client.close()


def instance(service: str = "users", instance_id: str = "users-1", port: int = 8001) -> Instance:
    return Instance(service=service, instance_id=instance_id, host="127.0.0.1", http_port=port)


class Load:
    """What the instance reports as its load; tests set it."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


class TestRegistration:
    async def test_start_registers_at_once_and_stop_deregisters(
        self, client: DiscoveryClient
    ) -> None:
        registration = Registration(client, instance(), Load())
        await registration.start()
        try:
            assert await client.instances("users") == [instance()]
        finally:
            await registration.stop()
        assert await client.instances() == []

    async def test_heartbeats_keep_the_lease_past_the_ttl(self, client: DiscoveryClient) -> None:
        registration = Registration(client, instance(), Load())
        await registration.start()
        try:
            await asyncio.sleep(TTL * 1.5)
            assert await client.instances("users") == [instance()]
        finally:
            await registration.stop()

    async def test_heartbeats_carry_the_current_load(self, client: DiscoveryClient) -> None:
        load = Load()
        registration = Registration(client, instance(), load)
        await registration.start()

        async def listed_load(expected: int) -> bool:
            return [i.load for i in await client.instances("users")] == [expected]

        try:
            load.value = 5
            await eventually(lambda: listed_load(5))
            load.value = 2
            await eventually(lambda: listed_load(2))
        finally:
            await registration.stop()

    async def test_it_registers_again_when_a_restarted_discovery_has_forgotten_it(
        self, discovery: DiscoveryServer, client: DiscoveryClient
    ) -> None:
        load = Load()
        load.value = 3
        registration = Registration(client, instance(), load)
        await registration.start()
        try:
            await discovery.restart()

            async def listed_again() -> bool:
                return await client.instances() == [instance()]

            await eventually(listed_again, within=TTL * 2)
        finally:
            await registration.stop()
        assert await client.instances() == []

    async def test_start_while_discovery_is_down_does_not_raise_and_registers_later(
        self, discovery: DiscoveryServer, client: DiscoveryClient
    ) -> None:
        await discovery.stop()
        registration = Registration(client, instance(), Load())
        await registration.start()
        try:
            await discovery.start()

            async def listed() -> bool:
                return await client.instances() == [instance()]

            await eventually(listed, within=3.0)
        finally:
            await registration.stop()

    async def test_stop_while_discovery_is_down_does_not_raise(
        self, discovery: DiscoveryServer, client: DiscoveryClient
    ) -> None:
        registration = Registration(client, instance(), Load())
        await registration.start()
        await discovery.stop()
        await registration.stop()

    async def test_stop_deregisters_when_discovery_answers_again_in_time(
        self,
        discovery: DiscoveryServer,
        client: DiscoveryClient,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        monkeypatch.setattr(litcomp.kit.discovery, "DEREGISTER_PAUSE", 1.0)
        caplog.set_level(logging.INFO, logger="litcomp.kit.discovery")
        registration = Registration(client, instance(), Load())
        await registration.start()
        await discovery.stop()
        stopping = asyncio.create_task(registration.stop())
        await asyncio.sleep(0.1)  # its first attempt has failed
        await discovery.start()
        await stopping
        messages = [record.getMessage() for record in caplog.records]
        assert "deregistered from discovery" in messages
        assert not [m for m in messages if m.startswith("could not deregister")]


class TestWatch:
    async def test_update_gets_the_instances_of_the_watched_services_only(
        self, client: DiscoveryClient
    ) -> None:
        for one in (
            instance("users", "u-2", 8002),
            instance("competitions", "c-1", 8101),
            instance("users", "u-1", 8001),
        ):
            await client.register(one)
        calls: list[tuple[str, list[Instance]]] = []
        watch = Watch(client, ["users"], lambda service, found: calls.append((service, found)))
        await watch.start()
        await watch.stop()
        assert calls == [
            ("users", [instance("users", "u-1", 8001), instance("users", "u-2", 8002)])
        ]

    async def test_each_watched_service_gets_its_list_even_an_empty_one(
        self, client: DiscoveryClient
    ) -> None:
        await client.register(instance("competitions", "c-1", 8101))
        calls: dict[str, list[Instance]] = {}

        async def update(service: str, found: list[Instance]) -> None:
            calls[service] = found

        watch = Watch(client, ["competitions", "users"], update)
        await watch.start()
        await watch.stop()
        assert calls == {"competitions": [instance("competitions", "c-1", 8101)], "users": []}

    async def test_polling_picks_up_changes(self, client: DiscoveryClient) -> None:
        await client.register(instance("users", "u-1"))
        latest: dict[str, list[str]] = {}

        def update(service: str, found: list[Instance]) -> None:
            latest[service] = [i.instance_id for i in found]

        watch = Watch(client, ["users"], update, interval=0.05)
        await watch.start()
        try:
            assert latest == {"users": ["u-1"]}
            await client.register(instance("users", "u-2", 8002))

            async def both() -> bool:
                return latest == {"users": ["u-1", "u-2"]}

            await eventually(both)
            await client.deregister(instance("users", "u-1"))

            async def only_second() -> bool:
                return latest == {"users": ["u-2"]}

            await eventually(only_second)
        finally:
            await watch.stop()

    async def test_while_discovery_is_down_the_last_list_is_kept(
        self, discovery: DiscoveryServer, client: DiscoveryClient
    ) -> None:
        await client.register(instance("users", "u-1"))
        calls: list[tuple[str, list[Instance]]] = []
        watch = Watch(
            client, ["users"], lambda service, found: calls.append((service, found)), interval=0.05
        )
        await watch.start()
        try:
            assert calls == [("users", [instance("users", "u-1")])]
            await discovery.stop()
            calls.clear()
            await watch.refresh()  # does not raise
            await asyncio.sleep(0.3)  # several polls fail meanwhile
            assert calls == []

            await discovery.start()  # a fresh discovery: it knows no one

            async def told_of_the_empty_list() -> bool:
                return ("users", []) in calls

            await eventually(told_of_the_empty_list)
        finally:
            await watch.stop()
