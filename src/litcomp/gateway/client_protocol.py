"""The client-facing HTTP/1.1 protocol: the gateway's client connections, parsed with httptools.

Each connection parses requests as bytes arrive and answers them in order, keeping
the connection alive when the client asks to. The handler is given each request with
a ``reply`` to call once, now or later; the next request is handed over once the
answer to the one before is out. No task per connection: on the hot path a request
goes from the parser's callback straight to the handler, and the answer from the
pool's callback (pool.py) straight to this connection's transport.

What a client may send (RFC 9110/9112; nginx's and Envoy's defaults as anchors). Each
refusal is the JSON error with ``Connection: close``, sent after the answers to the
requests before it; then the connection reads and drops what the client still sends
for up to the body timeout, so that the client gets the answer rather than a reset:

- a request target over ``MAX_TARGET`` (8 KiB): 414; a header section over
  ``MAX_FIELD_BYTES`` (32 KiB of names and values) or ``MAX_FIELDS`` (100): 431. The
  bytes of a head are counted as they are fed to the parser, so a line that never ends
  is cut at the limit, whatever the parser buffers of it;
- a body over ``max_body`` (or, on a route of ``larger_bodies``, that route's own
  limit): 413 as soon as that is known (from Content-Length, at the
  headers; while a chunked body arrives, at the byte past it);
- HTTP/1.1 without Host, or any request with two: 400. Trailer fields are dropped: the
  request was judged on its headers, so they are never merged into them;
- timeouts, kept by ``Connections``' one periodic sweep over the open connections,
  not a timer per request: headers within ``header_timeout`` of the request's first
  byte, a body never ``body_timeout`` without a byte (408 each); a kept-alive
  connection idle for ``idle_timeout`` is closed (a new one that sends nothing, after
  ``header_timeout``), and one whose client reads none of its answers for that long
  is cut;
- open connections are capped in all and per client address (the TCP peer; a trusted
  proxy's count toward the whole only): over either, 503 and close, at once.

Backpressure: while a client's unsent answers are over its transport's high-water mark
(``pause_writing``), no request is handed to the handler and nothing more is read from
it. At most ``MAX_QUEUED`` parsed requests wait for their answers; bytes read past them
wait unparsed, with reading paused, and everything but the common case (a chunk of at
most ``_SLICE`` bytes between requests) is parsed a slice at a time, so a client's
memory is bounded whatever it sends.

A WebSocket upgrade turns the connection into a tunnel: the handshake is forwarded
to one instance and from then on bytes flow both ways unchanged, so frames, pings
and close codes pass through; either side closing closes the other. Each side stops
reading while the other's write buffer is over its mark.

Stopping: each connection is in ``Connections.open`` while it lives;
``close_when_idle`` closes it at once if it is between requests (or a tunnel: the
client resumes elsewhere), else right after the answer it is working on, which says
``Connection: close``.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, cast

import httptools

from litcomp.gateway.clients import Networks
from litcomp.gateway.messages import Request, Response, error
from litcomp.gateway.target import BadTarget, normalise
from litcomp.kit.logging import accept_request_id

log = logging.getLogger(__name__)

Reply = Callable[[Response], None]
Handler = Callable[[Request, Reply], None]
# Given the upgrade request and the bytes after its head, open the instance side of a
# tunnel that writes to ``client``; None means refused (``Response`` says why).
Tunneler = Callable[[Request, asyncio.Transport], Awaitable[asyncio.Transport | Response]]


# Final: compiled, the constants are inlined rather than looked up (setup.py).
MAX_TARGET: Final = 8 * 1024
MAX_FIELDS: Final = 100
MAX_FIELD_BYTES: Final = 32 * 1024  # names and values
# The raw bytes a head may take: its target and fields and their framing (method,
# version, ": " and line ends), counted against what the parser buffers unseen.
_MAX_HEAD: Final = MAX_TARGET + MAX_FIELD_BYTES + 4 * MAX_FIELDS + 64
MAX_QUEUED: Final = 32  # parsed requests waiting for their answers, per connection
_SLICE: Final = 8 * 1024  # parsed at once at most, past the common case (see _parse_held)

# What a connection is reading (ClientConnection._phase).
_IDLE: Final = 0  # between requests
_HEAD: Final = 1  # a request's line and headers
_BODY: Final = 2  # its body (and trailers)
_TUNNEL: Final = 3  # a WebSocket tunnel, opening or open
_REFUSED: Final = 4  # nothing more: its refusal is sent after the answers before it


class _Refused(Exception):
    """Raised in a parser callback to stop the parser: the request is refused."""


class Connections:
    """The open client connections: admitted under the caps, and swept for timeouts.

    One sweep every ``interval`` (a tenth of the shortest timeout, 1 s at most) reads
    the loop's clock once, as ``now``, and checks every connection. Connections note
    ``now`` rather than reading the clock per request, so a time they noted is up to an
    interval older than the truth: a timeout is taken when it has passed by an interval
    more, and so never early (and at most two intervals late).
    """

    def __init__(
        self,
        *,
        max_body: int,
        max_open: int,
        max_per_client: int,
        header_timeout: float,
        body_timeout: float,
        idle_timeout: float,
        proxies: Networks | None = None,
        larger_bodies: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        """``proxies``: peers that carry many clients' connections (trusted proxies),
        which count toward ``max_open`` only. ``larger_bodies``: the limit of the
        routes, by method and exact path, that take more than ``max_body``."""
        self.max_body = max_body
        self._larger_bodies = dict(larger_bodies or {})
        self.max_open = max_open
        self.max_per_client = max_per_client
        self._proxies = proxies or Networks([])
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self.interval = min(1.0, header_timeout / 10, body_timeout / 10, idle_timeout / 10)
        self.open: set[ClientConnection] = set()
        self.now = 0.0
        self._per_client: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def body_limit(self, method: bytes, url: bytes) -> int:
        """The largest body of a request to ``url`` (its path exactly, before any
        query: an odd spelling of a larger route's path gets ``max_body``)."""
        if not self._larger_bodies:
            return self.max_body
        path = url.split(b"?", 1)[0].decode("latin-1")
        return self._larger_bodies.get((method.decode("latin-1"), path), self.max_body)

    def admit(self, connection: "ClientConnection", client: str) -> Response | None:
        """Count ``connection`` in, or the refusal if either cap is reached (the sweep
        starts with the first connection: this is made outside the event loop)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.now = self._loop.time()
            self._timer = self._loop.call_later(self.interval, self._sweep)
        if len(self.open) >= self.max_open:
            message = "the gateway has too many open connections; retry later"
            return error(503, "too_many_connections", message, **{"Retry-After": "1"})
        count = self._per_client.get(client, 0)
        if count >= self.max_per_client and not self._proxies.contain_text(client):
            message = f"too many open connections from {client}; close some first"
            return error(503, "too_many_connections", message, **{"Retry-After": "1"})
        self._per_client[client] = count + 1
        self.open.add(connection)
        return None

    def release(self, connection: "ClientConnection", client: str) -> None:
        if connection not in self.open:
            return  # never admitted
        self.open.discard(connection)
        left = self._per_client[client] - 1
        if left:
            self._per_client[client] = left
        else:
            del self._per_client[client]

    def _sweep(self) -> None:
        loop = self._loop
        assert loop is not None
        self.now = now = loop.time()
        for connection in list(self.open):
            connection.expire(now)
        self._timer = loop.call_later(self.interval, self._sweep)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class ClientConnection(asyncio.Protocol):
    def __init__(self, handle: Handler, tunnel: Tunneler, connections: Connections) -> None:
        self._handle = handle
        self._tunnel = tunnel
        self._connections = connections
        self._max_body = connections.max_body
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client_ip = ""
        self._pending: deque[Request] = deque()  # the first is being answered
        self._instance_side: asyncio.Transport | None = None  # set once tunnelling
        self._answering = False  # the handler has the first pending request
        self._dispatching = False  # in _answer_pending's loop
        self._closing = False
        self._closed: asyncio.Future[None] | None = None  # made by close_when_idle
        self._phase = _IDLE
        self._room = 0  # raw bytes the head or body under way may still take
        self._since = 0.0  # when the phase's clock started, as Connections.now
        self._fresh = True  # no request begun yet
        self._held = b""  # read, not yet parsed (see _parse_held)
        self._parsing_held = False
        self._reading = True  # not paused by this connection
        self._writing_paused = False  # unsent answers over the transport's mark
        self._blocked_since = 0.0  # when they last moved, while paused
        self._unsent = 0  # how many bytes were unsent then
        self._final: Response | None = None  # the refusal, once the answers before it are out
        self._reset()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        peer = transport.get_extra_info("peername")
        self._client_ip = str(peer[0]) if peer else ""
        refusal = self._connections.admit(self, self._client_ip)
        self._since = self._connections.now
        if refusal is not None:  # at once: lingering would hold what the cap keeps free
            self._phase = _REFUSED
            log.info("refused", extra={"status": refusal.status, "client": self._client_ip})
            self._transport.write(refusal.encode(keep_alive=False))
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._phase == _IDLE and len(data) <= _SLICE:  # whole requests, nearly always
            rest = self._parse(data)
            if rest >= 0:
                self._start_tunnel(data[rest:])
        else:
            self._receive(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.release(self, self._client_ip)
        self._held = b""
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        if self._instance_side is not None:
            self._instance_side.close()

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._blocked_since = self._connections.now
        if self._phase == _TUNNEL:
            if self._instance_side is not None:
                self._instance_side.pause_reading()
        elif self._phase != _REFUSED:
            self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._phase == _TUNNEL:
            if self._instance_side is not None:
                self._instance_side.resume_reading()
            return
        self._catch_up()
        self._answer_pending()

    # reading
    def _parse(self, data: bytes | memoryview) -> int:
        """Feed ``data`` to the parser; where the tunnel's bytes start in it after an
        upgrade request, else -1."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            return int(upgrade.args[0])
        except httptools.HttpParserError:
            if self._phase != _REFUSED:  # else a callback refused it, saying why
                self._refuse(error(400, "bad_request", "malformed HTTP request"))
        return -1

    def _receive(self, data: bytes) -> None:
        """``data`` read anywhere but between requests, or more than a slice of it."""
        phase = self._phase
        if phase == _TUNNEL:
            if self._instance_side is not None:
                self._instance_side.write(data)
            else:  # read with the upgrade request, before the tunnel is open
                self._held += data
        elif phase != _REFUSED:  # refused: what the client still sends is dropped
            self._held += data
            self._parse_held()

    def _parse_held(self) -> None:
        """Parse what was read and not yet parsed, a slice at a time, while fewer than
        ``MAX_QUEUED`` requests wait: the rest waits with reading paused, so what a
        client sends ahead costs at most a slice's requests more. The bytes fed while a
        head or body is under way count against its ``_room``: one that takes more is
        refused right at its limit."""
        if self._parsing_held:
            return  # an answer given from within the loop below, which goes on
        self._parsing_held = True
        held = self._held
        view = memoryview(held)
        at = 0
        try:
            while at < len(held) and self._phase < _TUNNEL and len(self._pending) < MAX_QUEUED:
                size = min(len(held) - at, _SLICE)
                if self._phase != _IDLE:
                    if self._phase == _BODY:
                        self._since = self._connections.now  # it moves
                    if self._room == 0:
                        self._refuse(self._over_limit())
                        break
                    size = min(size, self._room)
                    self._room -= size
                rest = self._parse(view[at : at + size])
                if rest >= 0:
                    self._start_tunnel(held[at + rest :])
                    break
                at += size
        finally:
            self._parsing_held = False
        if self._phase < _TUNNEL:
            self._held = held[at:]
            self._update_reading()
        elif self._phase == _REFUSED:
            self._held = b""

    def _over_limit(self) -> Response:
        if self._phase == _HEAD:
            return _head_too_large()
        return self._too_large()

    def _update_reading(self) -> None:
        """Read from the client only while nothing waits unparsed, fewer than
        ``MAX_QUEUED`` requests wait, and its answers are going out."""
        reading = not self._held and not self._writing_paused and len(self._pending) < MAX_QUEUED
        if reading == self._reading:
            return
        self._reading = reading
        assert self._transport is not None
        if reading:
            self._since = self._connections.now  # a head or body could not come meanwhile
            self._transport.resume_reading()
        else:
            self._transport.pause_reading()

    def _catch_up(self) -> None:
        """Parse what waits, and read again if the connection may: an answer went out."""
        if self._phase < _TUNNEL:
            self._parse_held()

    # httptools callbacks
    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._field_bytes = 0
        self._accept = ""

    def on_message_begin(self) -> None:
        self._reset()
        self._phase = _HEAD
        self._room = _MAX_HEAD
        self._since = self._connections.now
        self._fresh = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_TARGET:
            message = f"the request target is over {MAX_TARGET} bytes"
            raise self._stop(error(414, "uri_too_long", message))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._phase != _HEAD:
            return  # a trailer field: the request was judged on its headers
        self._field_bytes += len(name) + len(value)
        if self._field_bytes > MAX_FIELD_BYTES or len(self._headers) == MAX_FIELDS:
            raise self._stop(_head_too_large())
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._max_body = self._connections.body_limit(self._parser.get_method(), self._url)
        # A body, its chunks' framing and trailers: twice the largest body is ample for
        # any sane chunking, and bounds the trailer lines the parser buffers.
        self._room = 2 * self._max_body
        hosts = 0
        for name, value in self._headers:
            if name == "host":
                hosts += 1
            elif name == "content-length" and value.isdigit() and int(value) > self._max_body:
                raise self._stop(self._too_large())
            elif name == "accept" and not self._accept:
                self._accept = value  # kept here, in a loop every request runs anyway
        if hosts != 1 and (hosts > 1 or self._parser.get_http_version() != "1.0"):
            message = "a request takes one Host header (HTTP/1.0: at most one)"
            raise self._stop(error(400, "bad_request", message))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            raise self._stop(self._too_large())
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        if self._parser.should_upgrade():
            return  # answered by the tunnel (see data_received)
        self._pending.append(self._request(upgrade=False))
        if len(self._pending) >= MAX_QUEUED:
            self._update_reading()
        self._answer_pending()

    def _too_large(self) -> Response:
        message = f"the request body is over {self._max_body} bytes"
        return error(413, "payload_too_large", message)

    def _stop(self, response: Response) -> _Refused:
        """Refuse the request being parsed; raising what this returns stops the parser."""
        self._refuse(response)
        return _Refused()

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
            accept=self._accept,
        )

    def _answer_pending(self) -> None:
        """Hand the handler the first pending request, unless it has one already or the
        client's answers are not going out; once none is left, send the refusal if any.

        A loop rather than a call from ``_reply``: a handler that answers at once (a
        429, the gateway's own pages) would otherwise recurse once per pipelined request."""
        if self._dispatching:
            return  # the loop below is running further up this stack
        transport = self._transport
        assert transport is not None
        self._dispatching = True
        try:
            while (
                self._pending
                and not self._answering
                and not self._writing_paused
                and not transport.is_closing()
            ):
                self._answering = True
                self._handle(self._pending[0], self._reply)
        finally:
            self._dispatching = False
        if self._final is not None and not self._pending:
            self._send_final()

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
        if not keep_alive:
            transport.close()
            return
        self._since = self._connections.now  # idle from now, if nothing else waits
        if self._held or not self._reading:
            self._catch_up()
        self._answer_pending()

    def _refuse(self, response: Response) -> None:
        """Answer ``response`` and close, once the requests before it are answered: the
        connection cannot be read further (malformed, too big, too slow). Nothing more
        is read until then."""
        assert self._transport is not None
        self._phase = _REFUSED
        request_id = accept_request_id(dict(self._headers).get("x-request-id"))
        response.headers.append(("x-request-id", request_id))
        log.info("refused", extra={"status": response.status, "request_id": request_id})
        self._final = response
        self._held = b""
        self._reading = False
        self._transport.pause_reading()
        self._answer_pending()

    def _send_final(self) -> None:
        """Send the refusal, then read and drop what the client still sends until it
        closes or the body timeout passes (the sweep), so it reads the answer: closing
        with its bytes unread would reset the connection and could lose the answer."""
        response = self._final
        transport = self._transport
        assert response is not None and transport is not None
        self._final = None
        if transport.is_closing():
            return
        transport.write(response.encode(keep_alive=False))
        transport.write_eof()
        self._since = self._connections.now
        transport.resume_reading()

    def expire(self, now: float) -> None:
        """Refuse or close the connection if it has waited past its time (called by the
        sweep, with its reading of the clock)."""
        transport = self._transport
        phase = self._phase
        if transport is None or transport.is_closing() or phase == _TUNNEL:
            return
        limits = self._connections
        late = now - limits.interval  # the times noted may be an interval old
        if self._writing_paused:
            # Cut a client that reads nothing; one that reads slowly moves the count.
            unsent = transport.get_write_buffer_size()
            if unsent != self._unsent:
                self._unsent, self._blocked_since = unsent, now
            elif late - self._blocked_since >= limits.idle_timeout:
                transport.abort()
        elif phase == _REFUSED:
            if self._final is None and late - self._since >= limits.body_timeout:
                transport.close()  # done dropping what the client still sent
        elif not self._reading:
            return  # its answers are not out yet: it cannot be read meanwhile
        elif phase == _HEAD:
            if late - self._since >= limits.header_timeout:
                message = f"the request's headers took over {limits.header_timeout:g} s"
                self._refuse(error(408, "request_timeout", message))
        elif phase == _BODY:
            if late - self._since >= limits.body_timeout:
                message = f"the request's body stopped for {limits.body_timeout:g} s"
                self._refuse(error(408, "request_timeout", message))
        elif not self._pending:
            idle = limits.header_timeout if self._fresh else limits.idle_timeout
            if late - self._since >= idle:
                transport.close()

    # stopping
    def close_when_idle(self) -> asyncio.Future[None]:
        """Close now if between requests or tunnelling, else once the current answer is
        out; the future is done when the connection is."""
        self._closing = True
        self._closed = asyncio.get_running_loop().create_future()
        busy = self._answering or bool(self._pending)
        if self._transport is not None and (self._instance_side is not None or not busy):
            self._transport.close()
        return self._closed

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # tunnelling
    def _start_tunnel(self, rest: bytes) -> None:
        request = self._request(upgrade=True)
        assert self._transport is not None
        self._phase = _TUNNEL
        self._held = rest  # for the instance, once its side is open
        self._transport.pause_reading()  # until then
        asyncio.get_running_loop().create_task(self._open_tunnel(request))

    async def _open_tunnel(self, request: Request) -> None:
        assert self._transport is not None
        opened = await self._tunnel(request, self._transport)
        if isinstance(opened, Response):
            self._refuse(opened)
            return
        if self._transport.is_closing():
            opened.close()  # the client went while it opened
            return
        self._instance_side = opened
        if self._held:
            opened.write(self._held)
            self._held = b""
        if self._writing_paused:
            opened.pause_reading()
        self._transport.resume_reading()


def _head_too_large() -> Response:
    message = f"the request's header section is over {MAX_FIELD_BYTES} bytes or {MAX_FIELDS} fields"
    return error(431, "header_fields_too_large", message)


class Pipe(asyncio.Protocol):
    """The instance side of a tunnel: what arrives goes to the client, as is. While
    this side cannot take more (its write buffer over the mark) the client is not read;
    the other way round, ``ClientConnection`` stops reading this side."""

    def __init__(self, client: asyncio.Transport, on_close: Callable[[], None]) -> None:
        self._client = client
        self._on_close = on_close

    def data_received(self, data: bytes) -> None:
        self._client.write(data)

    def pause_writing(self) -> None:
        self._client.pause_reading()

    def resume_writing(self) -> None:
        self._client.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._client.close()
        self._on_close()
