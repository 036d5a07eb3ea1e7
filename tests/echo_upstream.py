"""A stand-in upstream for gateway tests: it answers with what it received.

    python -m tests.echo_upstream PORT [JWKS_FILE]

With ``ECHO_STATUS=N`` in its environment it answers every request with N (a broken
instance); else:

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
"""

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import WSMsgType, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SEEN: dict[str, int] = {}  # requests by X-Request-ID
ALWAYS = int(os.environ.get("ECHO_STATUS", "0"))


async def echo(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "query": request.rel_url.raw_query_string,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": (await request.read()).decode(),
        }
    )


@web.middleware
async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-ID", "")
    SEEN[request_id] = SEEN.get(request_id, 0) + 1
    if ALWAYS or "X-Echo-Status" in request.headers:
        code = ALWAYS or int(request.headers["X-Echo-Status"])
        return web.json_response({"status": code}, status=code)
    return await handler(request)


async def seen(request: web.Request) -> web.Response:
    return web.json_response({"count": SEEN.get(request.match_info["request_id"], 0)})


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.json_response({"status": code}, status=code)


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("seconds", "1")))
    return web.json_response({"slept": True})


async def big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * int(request.query["bytes"]))


async def redirect(request: web.Request) -> web.Response:
    own = f"http://{request.host}/{request.match_info['prefix']}/landed?x=1"
    return web.Response(status=302, headers={"Location": request.query.get("to", own)})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.send_str(f"hello {request.query.get('name', '')}".strip())
    for _ in range(int(request.query.get("flood", "0"))):
        await socket.send_bytes(b"f" * 65536)
    transport = request.transport
    if "deaf" in request.query and transport is not None:
        transport.pause_reading()
        await asyncio.sleep(float(request.query["deaf"]))
        transport.resume_reading()
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        if message.data == "close":
            await socket.close(code=4000, message=b"asked to")
        else:
            await socket.send_str(f"echo: {message.data}")
    return socket


def main() -> None:
    app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[counted])
    app.router.add_get("/ws", websocket)
    if len(sys.argv) > 2:
        jwks = Path(sys.argv[2]).read_bytes()

        async def keys(_: web.Request) -> web.Response:
            return web.Response(body=jwks, content_type="application/json")

        app.router.add_get("/users/.well-known/jwks.json", keys)
    app.router.add_route("*", "/{prefix}/status/{code:\\d+}", status)
    app.router.add_route("*", "/{prefix}/slow", slow)
    app.router.add_route("*", "/{prefix}/big", big)
    app.router.add_route("*", "/{prefix}/redirect", redirect)
    app.router.add_get("/{prefix}/seen/{request_id}", seen)
    app.router.add_route("*", "/{tail:.*}", echo)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
