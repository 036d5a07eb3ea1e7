"""The notification sockets' keepalive: one sweep pings every socket and drops the silent."""

import asyncio
from types import TracebackType
from typing import Self

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State
from websockets.uri import parse_uri

from litcomp.competitions.notifications.sockets import Keepalive


class SilentClient:
    """A WebSocket client that sends nothing after its handshake, so it leaves pings
    unanswered and shows each frame it gets: websockets' sans-I/O protocol over a
    plain connection, whose answers (pongs) are never sent. (websockets' asyncio
    client answers pings as they arrive, out of sight.)"""

    def __init__(self, url: str) -> None:
        self.uri = parse_uri(url)
        self.protocol = ClientProtocol(self.uri)
        self.events: list[Event] = []

    async def __aenter__(self) -> Self:
        self.reader, self.writer = await asyncio.open_connection(self.uri.host, self.uri.port)
        self.protocol.send_request(self.protocol.connect())
        self.writer.writelines(self.protocol.data_to_send())
        await asyncio.wait_for(self.next_event(), 5)  # the handshake's answer
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.writer.close()

    async def next_event(self) -> Event:
        while not self.events:
            data = await self.reader.read(65536)
            assert data, "the server closed the connection"
            self.protocol.receive_data(data)
            self.events += self.protocol.events_received()
        return self.events.pop(0)


async def test_a_socket_that_answers_pings_is_kept_and_a_silent_one_dropped():
    connected: asyncio.Queue[ServerConnection] = asyncio.Queue()

    async def hold(websocket: ServerConnection) -> None:
        await connected.put(websocket)
        await websocket.wait_closed()

    async with serve(hold, "127.0.0.1", 0, ping_interval=None) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        keepalive = Keepalive(server, interval=3600)  # swept by hand below
        async with connect(url, ping_interval=None) as answering:  # answers pings unread
            kept = await asyncio.wait_for(connected.get(), 5)
            async with SilentClient(url) as silent:
                dropped = await asyncio.wait_for(connected.get(), 5)
                await keepalive.sweep()  # pings both
                ping = await asyncio.wait_for(silent.next_event(), 5)
                assert isinstance(ping, Frame) and ping.opcode is Opcode.PING
                await asyncio.sleep(0.5)  # time for the answering client's pong (loopback)
                await keepalive.sweep()  # the silent one did not answer: dropped
                await asyncio.wait_for(dropped.wait_closed(), 5)
                assert kept.state is State.OPEN
                assert answering.state is State.OPEN
