"""The gateway: one process that answers every client request.

``Gateway.handle`` is the whole per-request policy, in order: a request id (kept
from ``X-Request-ID`` when sane), the gateway's own endpoints, the route, the rate
limit, then the proxy; it logs one line and counts the request. The HTTP side
(server.py) and the upstream side (upstream.py) are asyncio protocols over
httptools rather than a web framework: the gateway sits on every request's path,
and bench/README.md shows what that saves.
"""

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import uvloop
from redis.asyncio import Redis

from litcomp.gateway import docs, openapi, web
from litcomp.gateway.messages import Request, Response, error, json_response
from litcomp.gateway.proxy import Proxy, Reply, no_instance
from litcomp.gateway.ratelimit import Decision, Limit, Limiter, MemoryLimiter, RedisLimiter
from litcomp.gateway.routes import ROUTES, Route, match, timeout_for
from litcomp.gateway.server import ClientConnection, Pipe
from litcomp.gateway.settings import GatewaySettings, get_settings
from litcomp.gateway.status import STATUS_PAGE, snapshot
from litcomp.gateway.upstream import CONNECT_SECONDS, Pool
from litcomp.kit import metrics
from litcomp.kit.balancer import BALANCERS, Instance
from litcomp.kit.breaker import BreakerPolicy
from litcomp.kit.discovery import DiscoveryClient, Watch
from litcomp.kit.logging import accept_request_id, configure_logging, request_id_var
from litcomp.kit.runner import ServiceSpec, bind
from litcomp.kit.upstreams import Upstreams

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_AUTH_PATHS = frozenset({"/users/login", "/users/register"})
_OWN_PATHS = (
    frozenset({"/health", "/metrics", "/status", "/gateway/status", openapi.PATH}) | docs.PATHS
)


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        upstreams: dict[str, Upstreams],
        proxy: Proxy,
        limiter: Limiter,
    ) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.proxy = proxy
        self.limiter = limiter
        self.documents = openapi.Documents(proxy.pool, upstreams)
        self._auth_limit = Limit(
            settings.gateway_auth_rate_per_minute / 60, settings.gateway_auth_burst
        )
        self._limit = Limit(settings.gateway_rate_per_second, settings.gateway_rate_burst)
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer ``request``: ``reply`` is called once, now or when the upstream answers."""
        request_id = accept_request_id(request.header("x-request-id"))
        route = match(request.path)
        started = time.perf_counter()

        def answered(response: Response) -> None:
            response.headers.append(("x-request-id", request_id))
            self._record(request, route, response.status, time.perf_counter() - started)
            reply(response)

        token = request_id_var.set(request_id)
        try:
            self._answer(request, route, request_id, answered)
        except Exception:
            log.exception("unhandled error")
            answered(error(500, "internal", "something went wrong in the gateway"))
        finally:
            request_id_var.reset(token)

    def _answer(self, request: Request, route: Route | None, request_id: str, reply: Reply) -> None:
        if route is None:
            self._later(self._own(request), reply)
            return
        decision = self._rate_limit(request)
        if isinstance(decision, Decision):
            self._admit(decision, request, route, request_id, reply)
        else:  # shared through Redis: on its answer
            self._later(self._admit_after(decision, request, route, request_id, reply), reply)

    async def _admit_after(
        self,
        decision: Awaitable[Decision],
        request: Request,
        route: Route,
        request_id: str,
        reply: Reply,
    ) -> None:
        self._admit(await decision, request, route, request_id, reply)

    def _admit(
        self, decision: Decision, request: Request, route: Route, request_id: str, reply: Reply
    ) -> None:
        if not decision.allowed:
            reply(too_many(decision))
        elif route.websocket:
            reply(error(400, "bad_request", "this route takes a WebSocket upgrade"))
        else:
            self.proxy.forward(request, route, request_id, reply)

    def _later(self, answer: Awaitable[Response | None], reply: Reply) -> None:
        """Run ``answer`` as a task; its response, if it has one, goes to ``reply`` (a
        coroutine that returns None has handed ``reply`` on)."""

        async def run() -> None:
            try:
                response = await answer
            except Exception:
                log.exception("unhandled error")
                response = error(500, "internal", "something went wrong in the gateway")
            if response is not None:
                reply(response)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    async def _own(self, request: Request) -> Response:
        if request.path not in _OWN_PATHS:
            page = web.answer(request)  # the browser app: "/" and "/app/..."
            return page or error(404, "not_found", f"no route for {request.path}")
        if request.method not in ("GET", "HEAD"):
            message = f"{request.path} answers GET and HEAD"
            return error(405, "method_not_allowed", message, Allow="GET, HEAD")
        if request.path == openapi.PATH:
            return await self.documents.answer(request)
        if request.path in docs.PATHS:
            return docs.answer(request) or error(404, "not_found", f"no route for {request.path}")
        if request.path == "/health":
            return json_response({"status": "ok"})
        if request.path == "/metrics":
            content, media_type = metrics.exposition()
            return Response(200, [("content-type", media_type)], content)
        if request.path == "/gateway/status":
            return json_response(snapshot(self.upstreams, self.settings.gateway_balancer))
        return Response(200, [("content-type", "text/html; charset=utf-8")], STATUS_PAGE.encode())

    def _rate_limit(self, request: Request) -> Decision | Awaitable[Decision]:
        auth = request.method == "POST" and request.path in _AUTH_PATHS
        bucket, limit = ("auth", self._auth_limit) if auth else ("all", self._limit)
        return self.limiter.check(f"{bucket}:{request.client_ip}", limit)

    def _record(self, request: Request, route: Route | None, status: int, elapsed: float) -> None:
        label = (
            route.prefix if route else (request.path if request.path in _OWN_PATHS else "unmatched")
        )
        metrics.HTTP.observe(
            "gateway", metrics.method_label(request.method), label, status, elapsed
        )
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    async def tunnel(
        self, request: Request, client: asyncio.Transport
    ) -> asyncio.Transport | Response:
        """Open the upstream side of a WebSocket tunnel for ``request``."""
        route = match(request.path)
        if route is None or not route.websocket:
            return error(404, "not_found", f"no WebSocket route for {request.path}")
        decision = self._rate_limit(request)
        if not isinstance(decision, Decision):
            decision = await decision
        if not decision.allowed:
            return too_many(decision)
        pool = self.upstreams[route.service]
        endpoint = pool.choose()
        if endpoint is None:
            return no_instance(route)
        instance = endpoint.instance
        endpoint.in_flight += 1

        def closed() -> None:
            endpoint.in_flight -= 1

        port = instance.ws_port or instance.http_port
        try:
            transport, _ = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(
                    lambda: Pipe(client, closed), instance.host, port
                ),
                CONNECT_SECONDS,
            )
        except (OSError, TimeoutError) as exc:
            closed()
            pool.failed(endpoint, f"cannot connect: {exc!r}")
            return error(502, "bad_gateway", f"{route.service} refused the connection")
        pool.succeeded(endpoint)
        request_id = accept_request_id(request.header("x-request-id"))
        upgrade = request.header("upgrade") or "websocket"
        head = (
            f"{request.method} {request.target} HTTP/1.1\r\nhost: {instance.host}:{port}\r\n"
            f"{self.proxy.outgoing_headers(request, request_id)}"
            f"connection: Upgrade\r\nupgrade: {upgrade}\r\n\r\n"
        )
        transport.write(head.encode("latin-1"))
        log.info(
            "websocket tunnel opened",
            extra={"path": request.path, "upstream": instance.instance_id},
        )
        return transport


def too_many(decision: Decision) -> Response:
    return error(
        429,
        "rate_limited",
        "too many requests; slow down",
        **{"Retry-After": decision.retry_after_header},
    )


@asynccontextmanager
async def running(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    """The gateway with its resources: instance lists from discovery, upstream
    connections, the rate limiter (shared through Redis when configured)."""
    policy = BreakerPolicy(
        failure_threshold=settings.gateway_breaker_failures,
        cooldown=settings.gateway_breaker_cooldown_seconds,
    )
    upstreams = {
        service: Upstreams(
            caller="gateway",
            service=service,
            balancer=BALANCERS[settings.gateway_balancer](),
            policy=policy,
            forget_after=settings.discovery_grace_seconds,
        )
        for service in sorted({route.service for route in ROUTES})
    }
    timeouts = {
        route.prefix: timeout_for(
            route, settings.gateway_timeout_seconds, settings.gateway_route_timeouts
        )
        for route in ROUTES
    }
    discovery = DiscoveryClient(settings.discovery_url)

    def update(service: str, instances: list[Instance]) -> None:
        upstreams[service].update(instances)

    watch = Watch(discovery, upstreams, update, interval=settings.gateway_refresh_seconds)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    memory = MemoryLimiter()
    limiter: Limiter = (
        RedisLimiter(redis, memory, prefix=f"{settings.redis_prefix}:ratelimit")
        if redis
        else memory
    )
    pool = Pool()
    await watch.start()
    try:
        yield Gateway(settings, upstreams, Proxy(pool, upstreams, timeouts), limiter)
    finally:
        await watch.stop()
        await discovery.close()
        pool.close()
        if redis is not None:
            await redis.aclose()


async def serve_until_stopped(settings: GatewaySettings) -> None:
    sock = bind(settings.host, settings.gateway_port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    connections: set[ClientConnection] = set()
    async with running(settings) as gateway:
        server = await loop.create_server(
            lambda: ClientConnection(gateway.handle, gateway.tunnel, MAX_BODY_BYTES, connections),
            sock=sock,
        )
        log.info(
            "gateway listening",
            extra={"url": f"http://{settings.public_host}:{sock.getsockname()[1]}"},
        )
        await stop.wait()
        log.info("gateway stopping", extra={"connections": len(connections)})
        server.close()
        # Idle kept-alive connections and tunnels close now, the others once their answer
        # is out; what is left after a deadline is cut. Without this, clients that kept
        # reusing their connections held the process until it was killed (make faults).
        closing = [connection.close_when_idle() for connection in list(connections)]
        if closing:
            await asyncio.wait(closing, timeout=settings.gateway_timeout_seconds + 1)
        for connection in list(connections):
            connection.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 10)
        log.info("gateway stopped")


def serve(settings: GatewaySettings) -> None:
    configure_logging("gateway", settings.log_level)
    uvloop.run(serve_until_stopped(settings))


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(name="gateway", settings=settings, serve=lambda: serve(settings))
