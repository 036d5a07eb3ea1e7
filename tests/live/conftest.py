"""A platform with its own Redis (so tests may stop it), two competitions replicas,
PostgreSQL, and WebSocket listeners."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support import Platform, Process, free_port, notices, ws_url
from tests.support.redis import PrivateRedis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    make_database: Callable[[str], str],
    redis_server: PrivateRedis,
) -> Iterator[Platform]:
    platform = Platform.create(
        tmp_path_factory.mktemp("live"),
        {
            "LITCOMP_USERS_DATABASE_URL": make_database("live_users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": make_database("live_competitions"),
            "LITCOMP_REDIS_URL": redis_server.url,
            "LITCOMP_NOTIFICATIONS_POLL_SECONDS": "0.5",
            "LITCOMP_FINALIZE_POLL_SECONDS": "0.5",
            "LITCOMP_DISCOVERY_TTL_SECONDS": "2",
            "LITCOMP_DISCOVERY_GRACE_SECONDS": "1",
        },
        replicas={"users": 1, "competitions": 2},
    )
    platform.start()
    yield platform
    platform.stop()


def replica_url(platform: Platform, process: Process) -> str:
    instance = platform.instance(process)
    return f"http://{instance['host']}:{instance['http_port']}"


def replica_socket_url(platform: Platform, process: Process) -> str:
    """Where a replica serves its notification sockets (``/ws`` on a port of its own)."""
    instance = platform.instance(process)
    return f"http://{instance['host']}:{instance['ws_port']}"


class Listener:
    """One notification socket, read a message at a time."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        message = await asyncio.wait_for(self.socket.recv(), timeout)
        assert isinstance(message, str), message  # a text message
        notice = dict(json.loads(message))
        notices.validate(notice)
        return notice

    async def take(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_for(self, seconds: float) -> None:
        try:
            message = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected silence, got {message!r}")


@asynccontextmanager
async def listening(base_url: str, token: str, after: int | None = None) -> AsyncIterator[Listener]:
    query = f"?after={after}" if after is not None else ""
    async with connect(
        f"{ws_url(base_url)}/ws{query}",
        additional_headers={"Authorization": f"Bearer {token}"},
        ping_interval=None,
    ) as socket:
        await asyncio.sleep(0.2)  # let the server register the socket before acting
        yield Listener(socket)
