"""Forwarding one request to one healthy instance, retrying only where it is safe.

A request goes to the instance the balancer picks among those whose breaker admits
it. It is retried once, on another instance, when that cannot do harm:

- the connection was never made (nothing was sent), whatever the method;
- the method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE);
- it is a POST carrying an ``Idempotency-Key`` that the service honours.

Timeouts, connection errors and 5xx answers count as failures against the instance's
breaker. With no instance left to try the client gets 503 with Retry-After.
"""

import asyncio
import logging
from collections.abc import Mapping

import aiohttp
from aiohttp import web

from litcomp.gateway import headers
from litcomp.gateway.routes import Route
from litcomp.kit.balancer import Endpoint
from litcomp.kit.logging import request_id_var
from litcomp.kit.upstreams import Upstreams

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def error(status: int, code: str, message: str, **extra_headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": None}}
    return web.json_response(body, status=status, headers=extra_headers)


def retry_is_safe(method: str, request_headers: Mapping[str, str]) -> bool:
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and bool(request_headers.get("Idempotency-Key"))


class Proxy:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        upstreams: Mapping[str, Upstreams],
        timeouts: Mapping[str, float],
    ) -> None:
        self.session = session
        self.upstreams = upstreams
        self.timeouts = {prefix: aiohttp.ClientTimeout(total=t) for prefix, t in timeouts.items()}

    async def forward(self, request: web.Request, route: Route) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else None
        outgoing = headers.upstream_request(
            request.headers.items(),
            client_ip=request.remote or "",
            scheme=request.scheme,
            host=request.host,
            request_id=request_id_var.get() or "",
        )
        pool = self.upstreams[route.service]
        may_retry = retry_is_safe(request.method, request.headers)
        timeout = self.timeouts[route.prefix]
        tried: list[Endpoint] = []
        failure: web.Response | None = None
        for _ in range(2):
            endpoint = pool.choose(tried)
            if endpoint is None:
                break
            tried.append(endpoint)
            url = endpoint.instance.http_url + request.rel_url.raw_path_qs
            with pool.track(endpoint):
                try:
                    async with self.session.request(
                        request.method,
                        url,
                        headers=outgoing,
                        data=body,
                        timeout=timeout,
                        allow_redirects=False,
                    ) as upstream:
                        payload = await upstream.read()
                except aiohttp.ClientConnectorError as exc:
                    pool.failed(endpoint, f"cannot connect: {exc.os_error!r}")
                    continue  # nothing was sent: any method may go elsewhere
                except TimeoutError:
                    pool.failed(endpoint, f"no answer within {timeout.total:g}s")
                    failure = error(
                        504, "upstream_timeout", f"{route.service} did not answer in time"
                    )
                except aiohttp.ClientError as exc:
                    pool.failed(endpoint, f"connection failed: {exc!r}")
                    failure = error(502, "bad_gateway", f"{route.service} dropped the request")
                else:
                    response = web.Response(
                        status=upstream.status,
                        headers=headers.client_response(upstream.headers.items()),
                        body=payload,
                    )
                    if upstream.status < 500:
                        pool.succeeded(endpoint)
                        return response
                    pool.failed(endpoint, f"HTTP {upstream.status}")
                    failure = response
            if not may_retry:
                return failure
        return failure or error(
            503, "unavailable", f"no {route.service} instance is available", **{"Retry-After": "1"}
        )

    async def websocket(self, request: web.Request, route: Route) -> web.StreamResponse:
        """Join the client's WebSocket to one instance's, both ways, until either closes."""
        pool = self.upstreams[route.service]
        endpoint = pool.choose()
        if endpoint is None:
            return error(
                503,
                "unavailable",
                f"no {route.service} instance is available",
                **{"Retry-After": "1"},
            )
        url = endpoint.instance.http_url + request.rel_url.raw_path_qs
        forwarded = [
            (name, value)
            for name, value in headers.upstream_request(
                request.headers.items(),
                client_ip=request.remote or "",
                scheme=request.scheme,
                host=request.host,
                request_id=request_id_var.get() or "",
            )
            if not name.lower().startswith("sec-websocket")
        ]
        with pool.track(endpoint):
            try:
                upstream = await self.session.ws_connect(
                    url,
                    headers=forwarded,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None),
                    autoping=True,
                    heartbeat=None,
                )
            except aiohttp.WSServerHandshakeError as exc:
                pool.succeeded(endpoint)
                return error(exc.status, "handshake_refused", exc.message or "refused")
            except (aiohttp.ClientError, TimeoutError) as exc:
                pool.failed(endpoint, f"websocket connect failed: {exc!r}")
                return error(502, "bad_gateway", f"{route.service} refused the connection")
            pool.succeeded(endpoint)
            client = web.WebSocketResponse(autoping=True)
            await client.prepare(request)
            async with upstream:
                await _pump_both_ways(client, upstream)
            return client


async def _pump_both_ways(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    async def client_to_upstream() -> None:
        async for message in client:
            if message.type == aiohttp.WSMsgType.TEXT:
                await upstream.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await upstream.send_bytes(message.data)
        await upstream.close(code=client.close_code or 1000)

    async def upstream_to_client() -> None:
        async for message in upstream:
            if message.type == aiohttp.WSMsgType.TEXT:
                await client.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await client.send_bytes(message.data)
        await client.close(code=upstream.close_code or 1000)

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            log.info("websocket relay ended: %r", task.exception())
