"""The notification WebSocket, ``/ws``, served on its own port by the websockets library.

Why not a FastAPI route on the HTTP port: an idle socket under uvicorn holds ~21 KiB
before any framework (~33 KiB with FastAPI), the websockets server ~16 KiB, and a
replica is meant to hold tens of thousands of them (bench/README.md). The port is
registered with discovery as ``ws_port``; the gateway tunnels ``/ws`` there.

A socket: authenticate (``Authorization: Bearer`` or ``?token=``; a bad or missing
token is closed with 4401, a suspended user's with 4403, as are the sockets a user
holds when the replica learns they are suspended), start from ``?after=<id>`` or
from the newest notice, join the hub, which hands it notices until the client
leaves. A notice is written to the socket at once (``broadcast``, the library's
synchronous send: no task or queue per socket, a fan-out to 10,000 sockets is one
loop); the socket's write buffer is the queue, bounded at ``MAX_BUFFERED`` bytes: a
client that far behind is closed with 1013 (try again later) and resumes from the
last id it got. The client may send ``ping`` for an application-level
``{"type": "pong"}``. Protocol-level pings keep idle sockets alive and find dead ones: one
sweep over all sockets every ``PING_SECONDS`` (a socket that has not answered the
previous sweep's ping is dropped), rather than the library's keepalive task per
socket (~2 KiB each). Stopping the server closes every socket with 1012 (service
restart) so clients reconnect, through the gateway, to another replica.
"""

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.hub import Connection, Hub
from litcomp.competitions.notifications.schemas import MAX_ID, Pong
from litcomp.kit.auth import Principal, TokenVerifier
from litcomp.kit.background import Background
from litcomp.kit.errors import AppError, error_body
from litcomp.kit.suspensions import CODE as SUSPENDED_CODE
from litcomp.kit.suspensions import Suspensions, suspended_error

log = logging.getLogger(__name__)

PATH = "/ws"
UNAUTHORIZED = 4401
SUSPENDED = 4403
MAX_REASON_BYTES = 123  # what a close frame can carry (RFC 6455 5.5.1)
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013
MAX_BUFFERED = 1024 * 1024  # bytes not yet taken by the client: ~3,000 notices
PING_SECONDS = 20.0
PONG = Pong(type="pong").model_dump_json()


class _Socket(Connection):
    """A hub connection that knows its socket, so that a suspension can close it."""

    __slots__ = ("websocket",)

    def __init__(
        self,
        user_id: uuid.UUID,
        cursor: int,
        websocket: ServerConnection,
        send: Callable[[str], bool],
    ) -> None:
        super().__init__(user_id, cursor, send)
        self.websocket = websocket


class SocketServer:
    def __init__(self, hub: Hub, verifier: TokenVerifier, suspensions: Suspensions) -> None:
        self._hub = hub
        self._verifier = verifier
        self._closing: set[asyncio.Task[None]] = set()  # sockets cut loose, closing
        self._suspensions = suspensions
        suspensions.on_suspended(self.close_suspended)

    def refuse_early(self, _: ServerConnection, request: Request) -> Response | None:
        """Answer at the handshake what is wrong before any authentication: the path, ``after``."""
        url = urlsplit(request.path)
        if url.path != PATH:
            return _error(HTTPStatus.NOT_FOUND, "not_found", f"no WebSocket at {url.path}")
        if _after(request) == -1:
            message = f"after must be a notice id, 0 to {MAX_ID}"
            return _error(HTTPStatus.BAD_REQUEST, "bad_request", message)
        return None

    async def serve(self, websocket: ServerConnection) -> None:
        principal = await self._authenticate(websocket)
        if principal is None:
            return
        after = _after(websocket.request) if websocket.request else None
        if after is None:
            async with self._hub.sessions() as session:
                after = await store.latest(session, principal.user_id)
        user_id = principal.user_id
        connection = _Socket(
            user_id, after, websocket, lambda text: self._send(websocket, text, user_id)
        )
        self._hub.add(connection)
        try:
            await self._hub.catch_up([principal.user_id])
            async for message in websocket:
                if message == "ping":
                    connection.send(PONG)
        except ConnectionClosed:
            pass
        finally:
            self._hub.remove(connection)

    def _send(self, websocket: ServerConnection, text: str, user_id: uuid.UUID) -> bool:
        """Write ``text`` now; False, and the socket closing, if the client is too far behind."""
        if websocket.transport.get_write_buffer_size() <= MAX_BUFFERED:
            try:
                broadcast([websocket], text, raise_exceptions=True)
                return True
            except ExceptionGroup:
                return False  # the connection is broken; its handler ends
        if websocket.state is State.OPEN:
            log.info("closing a socket that fell behind", extra={"user_id": str(user_id)})
            self._close(websocket, TRY_AGAIN_LATER, "too far behind; resume with after")
        return False

    def close_suspended(self, users: set[uuid.UUID]) -> None:
        """Close the sockets of users just suspended: their token opened them before."""
        for user_id in users:
            reason = close_reason(suspended_error(self._suspensions.reason(user_id) or "").message)
            for connection in self._hub.held(user_id):
                if isinstance(connection, _Socket) and connection.websocket.state is State.OPEN:
                    log.info("closing a suspended user's socket", extra={"user_id": str(user_id)})
                    self._close(connection.websocket, SUSPENDED, reason)

    def _close(self, websocket: ServerConnection, code: int, reason: str) -> None:
        closing = asyncio.create_task(websocket.close(code, reason))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _authenticate(self, websocket: ServerConnection) -> Principal | None:
        request = websocket.request
        assert request is not None  # the handshake is done
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else None
        token = parse_qs(urlsplit(request.path).query).get("token", [None])[0] or bearer
        try:
            if not token:
                raise AppError("a token is required (Authorization: Bearer, or ?token=)")
            return await self._verifier.verify(token)
        except AppError as exc:
            code = SUSPENDED if exc.code == SUSPENDED_CODE else UNAUTHORIZED
            await websocket.close(code, close_reason(exc.message))
            return None


def close_reason(text: str) -> str:
    """``text`` cut to what a close frame carries, at a character (a reason may be any
    language)."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


def _after(request: Request) -> int | None:
    """``?after=``: None when absent, -1 when it is no notice id."""
    values = parse_qs(urlsplit(request.path).query).get("after")
    if not values:
        return None
    text = values[0]
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ID else -1


def _error(status: HTTPStatus, code: str, message: str) -> Response:
    """The platform's JSON error, as a handshake answer."""
    body = json.dumps(error_body(code, message)).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


class Keepalive(Background):
    """Pings every socket each ``interval``; closes those that left the last ping unanswered."""

    def __init__(self, server: Server, interval: float = PING_SECONDS) -> None:
        super().__init__()
        self._server = server
        self._interval = interval
        self._pongs: dict[ServerConnection, asyncio.Future[float]] = {}

    async def start(self) -> None:
        self.start_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.sweep()

    async def sweep(self) -> None:
        pongs, self._pongs = self._pongs, {}
        for websocket in list(self._server.connections):
            answered = pongs.get(websocket)
            if answered is not None and not answered.done():
                # A peer that cannot answer a ping cannot answer a close either.
                websocket.transport.abort()
                continue
            with contextlib.suppress(ConnectionClosed):
                self._pongs[websocket] = asyncio.ensure_future(await websocket.ping())


@asynccontextmanager
async def socket_server(
    hub: Hub, verifier: TokenVerifier, suspensions: Suspensions, host: str, port: int
) -> AsyncIterator[int]:
    """Serve ``/ws`` while inside; yields the bound port. Leaving closes every socket with 1012."""
    sockets = SocketServer(hub, verifier, suspensions)
    server = await serve(
        sockets.serve,
        host,
        port,
        process_request=sockets.refuse_early,
        compression=None,  # permessage-deflate costs ~35 KiB per socket
        max_size=1024,  # clients only ever send "ping"
        max_queue=4,
        server_header=None,
        ping_interval=None,  # Keepalive instead
    )
    keepalive = Keepalive(server)
    await keepalive.start()
    bound = server.sockets[0].getsockname()[1]
    log.info("notification sockets listening", extra={"port": bound})
    try:
        yield int(bound)
    finally:
        await keepalive.stop()
        server.close(close_connections=True, code=SERVICE_RESTART, reason="service restart")
        await server.wait_closed()
