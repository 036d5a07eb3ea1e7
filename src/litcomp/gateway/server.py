"""The client side of the gateway: HTTP/1.1 connections parsed with httptools.

Each connection parses requests as bytes arrive and answers them in order, keeping
the connection alive when the client asks to. The handler is given each request with
a ``reply`` to call once, now or later; the next request is handed over once the
answer to the one before is out. No task per connection: on the hot path a request
goes from the parser's callback straight to the handler, and the answer from the
upstream's callback straight to this connection's transport. A body over ``max_body`` is refused
with 413 as soon as it is known to be too big (from Content-Length, or while a
chunked body arrives), and the connection closed.

A WebSocket upgrade turns the connection into a tunnel: the handshake is forwarded
to one instance and from then on bytes flow both ways unchanged, so frames, pings
and close codes pass through; either side closing closes the other.

Stopping: each connection is in the ``open`` set it was given while it lives;
``close_when_idle`` closes it at once if it is between requests (or a tunnel: the
client resumes elsewhere), else right after the answer it is working on, which says
``Connection: close``.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import cast

import httptools

from litcomp.gateway.messages import Request, Response, error
from litcomp.gateway.target import BadTarget, normalise
from litcomp.kit.logging import accept_request_id

log = logging.getLogger(__name__)

Reply = Callable[[Response], None]
Handler = Callable[[Request, Reply], None]
# Given the upgrade request and the bytes after its head, open the upstream side of a
# tunnel that writes to ``client``; None means refused (``Response`` says why).
Tunneler = Callable[[Request, asyncio.Transport], Awaitable[asyncio.Transport | Response]]


class ClientConnection(asyncio.Protocol):
    def __init__(
        self,
        handle: Handler,
        tunnel: Tunneler,
        max_body: int,
        open_connections: set["ClientConnection"] | None = None,
    ) -> None:
        self._handle = handle
        self._tunnel = tunnel
        self._max_body = max_body
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client_ip = ""
        self._pending: deque[Request] = deque()  # the first is being answered
        self._upstream: asyncio.Transport | None = None  # set once tunnelling
        self._open = open_connections if open_connections is not None else set()
        self._answering = False  # the handler has the first pending request
        self._dispatching = False  # in _answer_pending's loop
        self._closing = False
        self._closed: asyncio.Future[None] | None = None  # made by close_when_idle
        self._reset()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._open.add(self)
        peer = transport.get_extra_info("peername")
        self._client_ip = str(peer[0]) if peer else ""

    def data_received(self, data: bytes) -> None:
        if self._upstream is not None:
            self._upstream.write(data)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._start_tunnel(data[upgrade.args[0] :])
        except httptools.HttpParserError:
            self._refuse(error(400, "bad_request", "malformed HTTP request"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._open.discard(self)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        if self._upstream is not None:
            self._upstream.close()

    # httptools callbacks
    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._too_large = False

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name == "content-length" and value.isdigit():
                self._too_large = int(value) > self._max_body

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            self._too_large = True
        elif not self._too_large:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.should_upgrade():
            return  # answered by the tunnel (see data_received)
        if self._too_large:
            self._refuse(
                error(413, "payload_too_large", f"the request body is over {self._max_body} bytes")
            )
            return
        self._pending.append(self._request(upgrade=False))
        self._answer_pending()

    # answering
    def _request(self, *, upgrade: bool) -> Request:
        target, invalid = self._url.decode("latin-1"), ""
        try:
            target, path = normalise(target, self._headers)
        except BadTarget as bad:  # answered in its turn by the handler
            path, invalid = "", str(bad)
        return Request(
            method=self._parser.get_method().decode("latin-1"),
            target=target,
            path=path,
            headers=self._headers,
            body=b"".join(self._body),
            client_ip=self._client_ip,
            keep_alive=self._parser.should_keep_alive(),
            upgrade=upgrade,
            invalid=invalid,
        )

    def _answer_pending(self) -> None:
        """Hand the handler the first pending request, unless it has one already.

        A loop rather than a call from ``_reply``: a handler that answers at once (a
        429, the gateway's own pages) would otherwise recurse once per pipelined request."""
        if self._dispatching:
            return  # the loop below is running further up this stack
        assert self._transport is not None
        self._dispatching = True
        try:
            while self._pending and not self._answering and not self._transport.is_closing():
                self._answering = True
                self._handle(self._pending[0], self._reply)
        finally:
            self._dispatching = False

    def _reply(self, response: Response) -> None:
        if not self._answering:
            log.error("a second answer to one request was dropped")
            return
        request = self._pending.popleft()
        self._answering = False
        transport = self._transport
        assert transport is not None
        if transport.is_closing():
            return  # the client has gone
        keep_alive = request.keep_alive and not self._closing
        transport.write(response.encode(keep_alive=keep_alive, head=request.method == "HEAD"))
        if keep_alive:
            self._answer_pending()
        else:
            transport.close()

    # stopping
    def close_when_idle(self) -> asyncio.Future[None]:
        """Close now if between requests or tunnelling, else once the current answer is
        out; the future is done when the connection is."""
        self._closing = True
        self._closed = asyncio.get_running_loop().create_future()
        busy = self._answering or bool(self._pending)
        if self._transport is not None and (self._upstream is not None or not busy):
            self._transport.close()
        return self._closed

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _refuse(self, response: Response) -> None:
        """Answer now and close: the request cannot be read (malformed, or too big)."""
        assert self._transport is not None
        request_id = accept_request_id(dict(self._headers).get("x-request-id"))
        response.headers.append(("x-request-id", request_id))
        log.info("refused", extra={"status": response.status, "request_id": request_id})
        self._transport.write(response.encode(keep_alive=False))
        self._transport.close()

    def _start_tunnel(self, rest: bytes) -> None:
        request = self._request(upgrade=True)
        assert self._transport is not None
        self._transport.pause_reading()  # until the upstream side is open
        asyncio.get_running_loop().create_task(self._open_tunnel(request, rest))

    async def _open_tunnel(self, request: Request, rest: bytes) -> None:
        assert self._transport is not None
        opened = await self._tunnel(request, self._transport)
        if isinstance(opened, Response):
            self._refuse(opened)
            return
        self._upstream = opened
        if rest:
            opened.write(rest)
        self._transport.resume_reading()


class Pipe(asyncio.Protocol):
    """The upstream side of a tunnel: what arrives goes to the client, as is."""

    def __init__(self, client: asyncio.Transport, on_close: Callable[[], None]) -> None:
        self._client = client
        self._on_close = on_close

    def data_received(self, data: bytes) -> None:
        self._client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client.close()
        self._on_close()
