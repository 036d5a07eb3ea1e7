"""The notification sockets' keepalive: one sweep pings every socket and drops the silent."""

import asyncio

import aiohttp
from websockets.asyncio.server import ServerConnection, serve
from websockets.protocol import State

from litcomp.competitions.notifications.sockets import Keepalive


async def test_a_socket_that_answers_pings_is_kept_and_a_silent_one_dropped():
    connected: asyncio.Queue[ServerConnection] = asyncio.Queue()

    async def hold(websocket: ServerConnection) -> None:
        await connected.put(websocket)
        await websocket.wait_closed()

    async with serve(hold, "127.0.0.1", 0, ping_interval=None) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        keepalive = Keepalive(server, interval=3600)  # swept by hand below
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url) as answering,
        ):
            kept = await asyncio.wait_for(connected.get(), 5)
            reading = asyncio.create_task(answering.receive())  # aiohttp answers pings as it reads
            async with session.ws_connect(url, autoping=False) as silent:
                dropped = await asyncio.wait_for(connected.get(), 5)
                await keepalive.sweep()  # pings both
                assert (await silent.receive(timeout=5)).type == aiohttp.WSMsgType.PING
                await asyncio.sleep(0.5)  # time for the answering client's pong (loopback)
                await keepalive.sweep()  # the silent one did not answer: dropped
                await asyncio.wait_for(dropped.wait_closed(), 5)
                assert kept.state is State.OPEN
                assert not answering.closed
            reading.cancel()
