"""The connection pool to instances: HTTP/1.1 with keep-alive, one request at a time.

``ConnectionPool.exchange`` sends one request to ``host:port`` over an idle kept-alive
connection (or a new one) and calls ``done`` once with the whole response, or with
the error saying how it failed:

- ``ConnectFailed``: no connection could be made, so nothing was sent;
- ``TimedOut``: no complete answer within the deadline (the connection is closed);
- ``Dropped``: the connection broke before a complete answer.

It takes a callback rather than being a coroutine: on an idle connection the
exchange is then two plain calls, one to send and one when the answer is parsed,
with no future to resolve, no task to wake and no frames to pass back through (the
gateway's every proxied request goes this way; ``ConnectionPool.fetch`` is the awaitable form
for everything else).

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
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, cast

import httptools

from litcomp.gateway.messages import Response
from litcomp.kit.instance_table import InstanceTable

log = logging.getLogger(__name__)

SWEEP_SECONDS = 0.1
# A connection is made in well under a millisecond to an instance that is there. One to
# an address nobody answers (a container that was killed: no refusal comes) would
# otherwise wait out the whole deadline before the request could go elsewhere.
CONNECT_SECONDS = 1.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ExchangeError(Exception):
    pass


class ConnectFailed(ExchangeError):
    pass


class TimedOut(ExchangeError):
    pass


class Dropped(ExchangeError):
    pass


Answer = Response | ExchangeError
Done = Callable[[Answer], None]


class _InstanceConnection(asyncio.Protocol):
    """One connection, and the one exchange it carries at a time: what was sent (kept
    for the one resend on a stale connection) and whom to tell of the answer."""

    def __init__(self, pool: "ConnectionPool", host: str, port: int) -> None:
        self._pool = pool
        self.host = host
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        # The exchange under way.
        self.data = b""
        self.head = False  # answering a HEAD request: headers only
        self.deadline = 0.0  # loop time by which the answer must be complete
        self.reused = False  # sent on a connection kept from an earlier exchange
        self.received = False  # a byte of the answer has arrived
        self._done: Done | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close()
            self._finish(Dropped(f"unreadable answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish(Dropped("the connection closed before a complete answer"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.head and not self._interim():  # the parser cannot be told no body follows
            self.closed = True  # nor can it be reused: the next answer would be misread
            self._complete()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._interim():  # 100 Continue, 103 Early Hints: the answer is still to come
            self._headers, self._body = [], []
            return
        if not self._parser.should_keep_alive():
            self.closed = True
        self._complete()

    def _interim(self) -> bool:
        return self._parser.get_status_code() < 200

    def _complete(self) -> None:
        self._finish(Response(self._parser.get_status_code(), self._headers, b"".join(self._body)))

    # use
    def send(self, data: bytes, deadline: float, head: bool, done: Done, *, reused: bool) -> None:
        assert self.transport is not None
        self._headers, self._body = [], []
        self.data, self.head, self.deadline, self.reused = data, head, deadline, reused
        self.received = False
        self._done = done
        if self.closed:  # lost between being made and this call: nothing was sent
            self._finish(ConnectFailed("the connection closed before the request was sent"))
            return
        self._pool.waiting.add(self)
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def time_out(self) -> None:
        self.close()  # a late answer must not be taken for the next request's
        self._finish(TimedOut("no complete answer before the deadline"))

    def _finish(self, answer: Answer) -> None:
        done = self._done
        if done is not None:
            self._done = None
            self._pool.waiting.discard(self)
            self._pool.finished(self, answer, done)


class ConnectionPool:
    """Made inside the event loop it serves; it keeps the loop at hand because asking
    asyncio for it costs a getpid() system call, twice per request."""

    def __init__(self, idle_seconds: float = 3.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle_seconds = idle_seconds
        self._idle: dict[tuple[str, int], list[tuple[_InstanceConnection, float]]] = defaultdict(
            list
        )
        self.waiting: set[_InstanceConnection] = set()  # awaiting an answer, for the sweep
        self._connecting: set[asyncio.Task[None]] = set()
        self._sweep_timer: asyncio.TimerHandle | None = None

    def exchange(
        self, host: str, port: int, data: bytes, within: float, done: Done, *, head: bool = False
    ) -> None:
        """Send ``data``, then call ``done`` once with the answer or the failure.
        ``head``: the request is a HEAD, so the answer ends with its headers."""
        if self._sweep_timer is None:
            self._sweep_timer = self._loop.call_later(SWEEP_SECONDS, self._sweep)
        deadline = self._loop.time() + within
        connection = self._take(host, port)
        if connection is None:
            self._send_on_new(host, port, data, deadline, head, done)
        else:
            connection.send(data, deadline, head, done, reused=True)

    async def fetch(
        self, host: str, port: int, data: bytes, within: float, *, head: bool = False
    ) -> Response:
        """``exchange`` awaited: the response, or its failure raised."""
        answered: asyncio.Future[Response] = self._loop.create_future()

        def done(answer: Answer) -> None:
            if answered.done():  # the caller gave up
                return
            if isinstance(answer, ExchangeError):
                answered.set_exception(answer)
            else:
                answered.set_result(answer)

        self.exchange(host, port, data, within, done, head=head)
        return await answered

    def finished(self, connection: _InstanceConnection, answer: Answer, done: Done) -> None:
        """``connection``'s exchange is over: keep or close it, and tell ``done``."""
        if isinstance(answer, Dropped) and connection.reused and not connection.received:
            # Closed by the upstream while idle, in the instant before it was reused.
            self._send_on_new(
                connection.host,
                connection.port,
                connection.data,
                connection.deadline,
                connection.head,
                done,
            )
            return
        if connection.closed:
            connection.close()
        else:
            self._idle[(connection.host, connection.port)].append((connection, time.monotonic()))
        _tell(done, answer)

    def _send_on_new(
        self, host: str, port: int, data: bytes, deadline: float, head: bool, done: Done
    ) -> None:
        sending = self._connect_and_send(host, port, data, deadline, head, done)
        task = self._loop.create_task(sending)
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect_and_send(
        self, host: str, port: int, data: bytes, deadline: float, head: bool, done: Done
    ) -> None:
        loop = self._loop
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _InstanceConnection(self, host, port), host, port),
                min(deadline - loop.time(), CONNECT_SECONDS),
            )
        except (OSError, TimeoutError) as exc:
            _tell(done, ConnectFailed(f"cannot connect: {exc!r}"))
            return
        connection.send(data, deadline, head, done, reused=False)

    def _sweep(self) -> None:
        """Time out the exchanges past their deadline."""
        now = self._loop.time()
        for connection in [c for c in self.waiting if c.deadline <= now]:
            connection.time_out()
        self._sweep_timer = self._loop.call_later(SWEEP_SECONDS, self._sweep)

    def _take(self, host: str, port: int) -> _InstanceConnection | None:
        idle = self._idle.get((host, port))
        now = time.monotonic()
        while idle:
            connection, since = idle.pop()
            if not connection.closed and now - since < self._idle_seconds:
                return connection
            connection.close()
        return None

    def close(self) -> None:
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        for task in list(self._connecting):
            task.cancel()
        for idle in self._idle.values():
            for connection, _ in idle:
                connection.close()
        self._idle.clear()


def _tell(done: Done, answer: Answer) -> None:
    try:
        done(answer)
    except Exception:  # a bug of the caller's: it must not break the connection it runs on
        log.exception("an upstream answer's callback failed")


def encode_request(method: str, target: str, host: str, header_lines: str, body: bytes) -> bytes:
    """The request as sent; ``header_lines`` are ``name: value\\r\\n`` each."""
    length = f"content-length: {len(body)}\r\n" if body or method in _BODY_METHODS else ""
    head = f"{method} {target} HTTP/1.1\r\nhost: {host}\r\n{header_lines}{length}\r\n"
    return head.encode("latin-1") + body


async def fetch_answer(
    pool: ConnectionPool, instances: InstanceTable, path: str, *, within: float
) -> tuple[int, Any] | None:
    """The status and JSON body a GET of ``path`` answers on one of ``instances`` (a
    second one if the first gives no answer, a 5xx, or no JSON), or None; each failure
    is logged. For the gateway's own needs (the services' OpenAPI documents, the users
    service's public keys, what the app's pages say of what they show)."""
    for endpoint in instances.attempts():
        instance = endpoint.instance
        address = f"{instance.host}:{instance.http_port}"
        request = encode_request("GET", path, address, "accept: application/json\r\n", b"")
        try:
            answer = await pool.fetch(instance.host, instance.http_port, request, within)
            if answer.status >= 500:
                raise ExchangeError(f"HTTP {answer.status}")
            return answer.status, json.loads(answer.body)
        except (ExchangeError, ValueError) as exc:
            log.warning(
                "cannot fetch a document from an instance",
                extra={"path": path, "upstream": instance.instance_id, "error": str(exc)},
            )
    return None


async def fetch_json(
    pool: ConnectionPool, instances: InstanceTable, path: str, *, within: float
) -> dict[str, Any] | None:
    """The JSON object a 200 to a GET of ``path`` carries (``fetch_answer``), or None."""
    answered = await fetch_answer(pool, instances, path, within=within)
    if answered is None:
        return None
    status, document = answered
    if status != 200 or not isinstance(document, dict):
        log.warning("an instance answered no document", extra={"path": path, "status": status})
        return None
    return document
