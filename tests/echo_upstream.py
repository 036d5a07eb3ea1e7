"""A stand-in upstream for gateway tests: it answers with what it received.

    python -m tests.echo_upstream PORT [JWKS_FILE]

With ``ECHO_STATUS=N`` in its environment it answers every request with N (a broken
instance; with ``ECHO_ERROR=CODE`` too, as a litcomp service answers an error: its JSON
body with that code, and for a 503 Retry-After: an overloaded instance); else:

- any path: 200 with the method, path (decoded, and as sent), query, headers and body it
  got, as JSON;
- ``.../status/{code}``: answers with that status;
- ``.../slow?seconds=S``: answers after S seconds;
- ``.../big?bytes=N``: answers N bytes;
- ``.../redirect?to=URL``: 302 to URL, or to this instance's own ``.../landed?x=1`` as an
  absolute URL (as a framework behind a proxy may answer);
- any request with ``X-Echo-Status: N``: answers with status N;
- ``.../seen/{request_id}``: how many requests carried that ``X-Request-ID`` (attempts
  the gateway made for one client request);
- ``/ws``: a WebSocket that echoes text, and closes with code 4000 when sent "close";
  ``?flood=N`` first sends N binary messages of 64 KiB, ``?deaf=S`` reads nothing
  for S seconds;
- ``/users/.well-known/jwks.json``, given a JWKS file: that file (the users service's
  public keys, for tests of what the gateway verifies itself).

Served by uvicorn, as the services are.
"""

import asyncio
import os
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from litcomp.kit.errors import error_body

SEEN: dict[str, int] = {}  # requests by X-Request-ID
ALWAYS = int(os.environ.get("ECHO_STATUS", "0"))
ERROR_CODE = os.environ.get("ECHO_ERROR", "")
# The methods the tests send through the gateway, which forwards any (Starlette gives
# a route GET and HEAD only unless told).
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def echo(request: Request) -> Response:
    query = request.scope["query_string"].decode("latin-1")
    # ASGI's raw_path stops before the query; "as sent" is the whole target.
    raw_path = request.scope["raw_path"].decode("latin-1") + (f"?{query}" if query else "")
    return JSONResponse(
        {
            "method": request.method,
            "path": request.scope["path"],
            "raw_path": raw_path,
            "query": query,
            "headers": [
                [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]
            ],
            "body": (await request.body()).decode(),
        }
    )


class Counted:
    """Counts every request (WebSocket handshakes too) by X-Request-ID, and answers
    those asking with X-Echo-Status (all, under ECHO_STATUS) with that status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id", "")
        SEEN[request_id] = SEEN.get(request_id, 0) + 1
        if ALWAYS or "x-echo-status" in headers:
            code = ALWAYS or int(headers["x-echo-status"])
            # On a WebSocket handshake Starlette sends this as the refusal.
            await _forced(code)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _forced(status: int) -> Response:
    if not ERROR_CODE:
        return JSONResponse({"status": status}, status_code=status)
    retry = {"Retry-After": "1"} if status == 503 else None
    body = error_body(ERROR_CODE, f"answered {status} as asked")
    return JSONResponse(body, status_code=status, headers=retry)


async def seen(request: Request) -> Response:
    return JSONResponse({"count": SEEN.get(request.path_params["request_id"], 0)})


async def status(request: Request) -> Response:
    code = request.path_params["code"]
    return JSONResponse({"status": code}, status_code=code)


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "1")))
    return JSONResponse({"slept": True})


async def big(request: Request) -> Response:
    return Response(
        b"x" * int(request.query_params["bytes"]), media_type="application/octet-stream"
    )


async def redirect(request: Request) -> Response:
    own = f"http://{request.url.netloc}/{request.path_params['prefix']}/landed?x=1"
    return Response(status_code=302, headers={"Location": request.query_params.get("to", own)})


async def websocket(socket: WebSocket) -> None:
    await socket.accept()
    await socket.send_text(f"hello {socket.query_params.get('name', '')}".strip())
    for _ in range(int(socket.query_params.get("flood", "0"))):
        await socket.send_bytes(b"f" * 65536)
    # uvicorn stops reading the connection while a message waits for the app, so not
    # receiving is reading nothing.
    await asyncio.sleep(float(socket.query_params.get("deaf", "0")))
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:  # binary
            continue
        if text == "close":
            await socket.close(code=4000, reason="asked to")
        else:
            await socket.send_text(f"echo: {text}")


def main() -> None:
    routes: list[BaseRoute] = [WebSocketRoute("/ws", websocket)]
    if len(sys.argv) > 2:
        jwks = Path(sys.argv[2]).read_bytes()

        async def keys(_: Request) -> Response:
            return Response(jwks, media_type="application/json")

        routes.append(Route("/users/.well-known/jwks.json", keys))
    routes += [
        Route("/{prefix}/status/{code:int}", status, methods=METHODS),
        Route("/{prefix}/slow", slow, methods=METHODS),
        Route("/{prefix}/big", big, methods=METHODS),
        Route("/{prefix}/redirect", redirect, methods=METHODS),
        Route("/{prefix}/seen/{request_id}", seen),
        Route("/{tail:path}", echo, methods=METHODS),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Counted)])
    # No keepalive pings on /ws: the raw-socket clients of test_edge_limits never
    # answer them, and no test expects frames it did not ask for.
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), ws_ping_interval=None)


if __name__ == "__main__":
    main()
