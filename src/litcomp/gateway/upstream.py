"""Connections to upstream instances: HTTP/1.1 with keep-alive, one request at a time.

``Pool.exchange`` sends one request to ``host:port`` over an idle kept-alive
connection (or a new one) and returns the whole response. It says how it failed:

- ``ConnectFailed``: no connection could be made, so nothing was sent;
- ``TimedOut``: no complete answer within the deadline (the connection is closed);
- ``Dropped``: the connection broke before a complete answer.

A kept-alive connection that the upstream closed while idle is noticed when the FIN
arrives and never reused; if one is reused in the instant before, and breaks before
a single byte of answer, the request is sent once more on a new connection (the
upstream cannot have seen it: it had closed the connection). Idle connections are
dropped after ``idle_seconds``, below uvicorn's 5 s keep-alive, to keep that instant rare.

Deadlines are enforced by one periodic sweep per pool (every ``SWEEP_SECONDS``) over
the connections awaiting an answer, rather than a timer per request: on uvloop a
timer costs ~2 us to arm and cancel, a noticeable share of the gateway's whole
per-request cost, and a deadline of seconds does not need better precision.
"""

import asyncio
import time
from collections import defaultdict
from typing import cast

import httptools

from litcomp.gateway.messages import Response

SWEEP_SECONDS = 0.1
# A connection is made in well under a millisecond to an instance that is there. One to
# an address nobody answers (a container that was killed: no refusal comes) would
# otherwise wait out the whole deadline before the request could go elsewhere.
CONNECT_SECONDS = 1.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UpstreamError(Exception):
    pass


class ConnectFailed(UpstreamError):
    pass


class TimedOut(UpstreamError):
    pass


class Dropped(UpstreamError):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, waiting: set["_Connection"]) -> None:
        self._loop = loop
        self._waiting = waiting  # the pool's connections awaiting an answer, for its sweep
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.received = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[Response, bool]] | None = None
        self._head = False  # answering a HEAD request: headers only
        self.deadline = 0.0  # loop time by which the answer must be complete
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Dropped(f"unreadable answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(Dropped("the connection closed before a complete answer"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self._head:  # the parser cannot be told that no body follows
            self._complete(keep_alive=False)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete(keep_alive=self._parser.should_keep_alive())

    def _complete(self, *, keep_alive: bool) -> None:
        response = Response(self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._waiting.discard(self)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((response, keep_alive))

    # use
    def send(
        self, data: bytes, deadline: float, head: bool
    ) -> asyncio.Future[tuple[Response, bool]]:
        """Send ``data``; the future is the whole answer and whether the connection may be
        kept (``time_out`` ends it at the deadline). A plain function returning the future,
        not a coroutine: one frame less to pass through on every answer."""
        assert self.transport is not None
        self._headers, self._body, self.received = [], [], False
        self._head = head
        self.deadline = deadline
        self._waiter = self._loop.create_future()
        self._waiting.add(self)
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    @property
    def abandoned(self) -> bool:
        return self._waiter is not None and self._waiter.cancelled()

    def time_out(self) -> None:
        self._fail(TimedOut("no complete answer before the deadline"))
        self.close()  # a late answer must not be taken for the next request's

    def _fail(self, error: Exception) -> None:
        self._waiting.discard(self)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)


class Pool:
    """Made inside the event loop it serves; it keeps the loop at hand because asking
    asyncio for it costs a getpid() system call, twice per request."""

    def __init__(self, idle_seconds: float = 3.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle_seconds = idle_seconds
        self._idle: dict[tuple[str, int], list[tuple[_Connection, float]]] = defaultdict(list)
        self._waiting: set[_Connection] = set()  # awaiting an answer, for the sweep
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def exchange(
        self, host: str, port: int, data: bytes, within: float, *, head: bool = False
    ) -> Response:
        """``head``: the request is a HEAD, so the answer ends with its headers."""
        if self._sweep_timer is None:
            self._sweep_timer = self._loop.call_later(SWEEP_SECONDS, self._sweep)
        deadline = self._loop.time() + within
        connection = self._take(host, port)
        reused = connection is not None
        if connection is None:
            connection = await self._connect(host, port, deadline)
        try:
            response, keep_alive = await connection.send(data, deadline, head)
        except Dropped:
            if not reused or connection.received:
                raise
            connection = await self._connect(host, port, deadline)  # closed while idle
            response, keep_alive = await connection.send(data, deadline, head)
        if keep_alive and not connection.closed:
            self._idle[(host, port)].append((connection, time.monotonic()))
        else:
            connection.close()
        return response

    def _sweep(self) -> None:
        """Time out the exchanges past their deadline, and close the connections of those
        whose caller gave up (cancelled): their answer may still come, and must not be
        taken for another request's."""
        now = self._loop.time()
        for connection in [c for c in self._waiting if c.deadline <= now or c.abandoned]:
            connection.time_out()
        self._sweep_timer = self._loop.call_later(SWEEP_SECONDS, self._sweep)

    def _take(self, host: str, port: int) -> _Connection | None:
        idle = self._idle.get((host, port))
        now = time.monotonic()
        while idle:
            connection, since = idle.pop()
            if not connection.closed and now - since < self._idle_seconds:
                return connection
            connection.close()
        return None

    async def _connect(self, host: str, port: int, deadline: float) -> _Connection:
        loop = self._loop
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop, self._waiting), host, port),
                min(deadline - loop.time(), CONNECT_SECONDS),
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect: {exc!r}") from None
        return connection

    def close(self) -> None:
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        for idle in self._idle.values():
            for connection, _ in idle:
                connection.close()
        self._idle.clear()


def encode_request(method: str, target: str, host: str, header_lines: str, body: bytes) -> bytes:
    """The request as sent; ``header_lines`` are ``name: value\\r\\n`` each."""
    length = f"content-length: {len(body)}\r\n" if body or method in _BODY_METHODS else ""
    head = f"{method} {target} HTTP/1.1\r\nhost: {host}\r\n{header_lines}{length}\r\n"
    return head.encode("latin-1") + body
