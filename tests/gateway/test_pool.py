"""The gateway's connection pool (``ConnectionPool``) against real sockets, in process."""

import asyncio
import socket
from collections.abc import Iterator

import pytest

from litcomp.gateway.pool import CONNECT_SECONDS, ConnectFailed, ConnectionPool

REQUEST = b"GET /competitions HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def unanswering_port() -> Iterator[int]:
    """A port whose SYNs go unanswered, as to a killed container's address: a listener
    whose accept queue is full (Linux then drops new SYNs rather than refusing)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
        try:
            yield int(listener.getsockname()[1])
        finally:
            for filler in fillers:
                filler.close()


async def test_a_connection_nobody_answers_fails_within_the_connect_timeout(
    unanswering_port: int,
):
    await asyncio.sleep(0.1)  # the fillers' handshakes complete
    pool = ConnectionPool()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(ConnectFailed):
            await pool.fetch("127.0.0.1", unanswering_port, REQUEST, within=5)
    finally:
        pool.close()
    assert CONNECT_SECONDS - 0.1 < loop.time() - started < CONNECT_SECONDS + 0.5


async def test_interim_answers_are_not_taken_for_the_answer():
    """100 Continue and 103 Early Hints come before the answer on the same connection; the
    exchange waits for the final one, and the kept connection stays in step."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nlink: </app.css>\r\n\r\n"
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-answer: final\r\n\r\nfinal"
            )
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = ConnectionPool()
    try:
        for _ in range(2):
            response = await pool.fetch("127.0.0.1", port, REQUEST, within=5)
            assert (response.status, response.body) == (200, b"final")
            assert [name for name, _ in response.headers] == ["content-length", "x-answer"]
    finally:
        pool.close()
        server.close()
