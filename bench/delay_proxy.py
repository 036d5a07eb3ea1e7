"""A TCP proxy that slows one instance down: every byte the upstream sends back arrives late.

Usage (started by bench/run.py, not by hand)::

    python -m bench.delay_proxy LISTEN_PORT UPSTREAM_PORT DELAY_MS

It accepts connections on 127.0.0.1:LISTEN_PORT and opens one to
127.0.0.1:UPSTREAM_PORT for each. What the client sends goes through at once; what
the upstream answers is held for DELAY_MS milliseconds after it was read, then
written, in order. So each answer is DELAY_MS later, and the instance behind looks
slow to its callers without a flag in the service: a replica on a busy host, or
behind a congested link. The proxy does no parsing and needs nothing but asyncio.
"""

import asyncio
import sys
import time
from collections import deque

HOST = "127.0.0.1"
CHUNK = 65536


class Delayed:
    """Bytes written to ``writer`` ``delay`` seconds after they were read, in order."""

    def __init__(self, writer: asyncio.StreamWriter, delay: float) -> None:
        self._writer = writer
        self._delay = delay
        self._queue: deque[tuple[float, bytes]] = deque()
        self._ready = asyncio.Event()

    def put(self, data: bytes) -> None:
        self._queue.append((time.monotonic() + self._delay, data))
        self._ready.set()

    async def run(self, reading: "asyncio.Task[None]") -> None:
        """Write until the reading side is done and the queue is empty."""
        while True:
            if not self._queue:
                if reading.done():
                    return
                self._ready.clear()
                waiting = asyncio.ensure_future(self._ready.wait())
                await asyncio.wait({waiting, reading}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                continue
            due, data = self._queue.popleft()
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self._writer.write(data)
            await self._writer.drain()


async def pump(reader: asyncio.StreamReader, write: "asyncio.StreamWriter | Delayed") -> None:
    while data := await reader.read(CHUNK):
        if isinstance(write, Delayed):
            write.put(data)
        else:
            write.write(data)
            await write.drain()


async def relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_port: int,
    delay: float,
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(HOST, upstream_port)
    except OSError:
        client_writer.close()
        return
    back = Delayed(client_writer, delay)
    forward = asyncio.create_task(pump(client_reader, upstream_writer))
    reading = asyncio.create_task(pump(upstream_reader, back))
    writing = asyncio.create_task(back.run(reading))
    # Done when the client leaves, or the upstream has closed and its last bytes are out.
    await asyncio.wait({forward, writing}, return_when=asyncio.FIRST_COMPLETED)
    for task in (forward, reading, writing):
        task.cancel()
    await asyncio.gather(forward, reading, writing, return_exceptions=True)
    for writer in (client_writer, upstream_writer):
        writer.close()


async def serve(listen_port: int, upstream_port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, upstream_port, delay), HOST, listen_port
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    listen_port, upstream_port, delay_ms = (int(a) for a in sys.argv[1:4])
    asyncio.run(serve(listen_port, upstream_port, delay_ms / 1000))


if __name__ == "__main__":
    main()
