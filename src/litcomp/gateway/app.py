"""The gateway application, on aiohttp (server and client).

aiohttp was chosen over an httpx-based proxy (~15x slower on the same backend);
bench/README.md measures it against nginx and shows where its time goes.

Middleware order: request context (id, log line, metrics, errors as JSON), then the
rate limit, then the handler: the gateway's own endpoints, or the proxy.
"""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import lru_cache

import aiohttp
from aiohttp import web
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

from litcomp.gateway.proxy import Proxy, error
from litcomp.gateway.ratelimit import Limit, Limiter, MemoryLimiter, RedisLimiter
from litcomp.gateway.routes import ROUTES, Route, match, timeout_for
from litcomp.gateway.settings import GatewaySettings, get_settings
from litcomp.gateway.status import STATUS_PAGE, snapshot
from litcomp.kit import metrics
from litcomp.kit.balancer import BALANCERS, Instance
from litcomp.kit.breaker import BreakerPolicy
from litcomp.kit.discovery import DiscoveryClient, Watch
from litcomp.kit.logging import (
    REQUEST_ID_HEADER,
    accept_request_id,
    configure_logging,
    request_id_var,
)
from litcomp.kit.runner import ServiceSpec, bind
from litcomp.kit.upstreams import Upstreams

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_AUTH_PATHS = frozenset({"/users/login", "/users/register"})
_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", GatewaySettings)
PROXY = web.AppKey("proxy", Proxy)
UPSTREAMS = web.AppKey("upstreams", dict[str, Upstreams])
LIMITER = web.AppKey("limiter", Limiter)


ROUTE = "litcomp.route"  # the request's Route (or None), matched once per request
_OWN_PATHS = frozenset({"/health", "/metrics", "/status", "/gateway/status"})


def _route_label(request: web.Request) -> str:
    route: Route | None = request[ROUTE]
    if route is not None:
        return route.prefix
    return request.path if request.path in _OWN_PATHS else "unmatched"


@lru_cache(maxsize=4096)
def _counters(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The labelled metric children for one kind of request (labels are bounded)."""
    return (
        metrics.HTTP_REQUESTS.labels("gateway", method, route, str(status)),
        metrics.HTTP_LATENCY.labels("gateway", method, route),
    )


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[ROUTE] = match(request.path)
    request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        response = await _answer(request, handler)
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = request_id
        elapsed = time.perf_counter() - started
        requests, latency = _counters(
            metrics.method_label(request.method), _route_label(request), response.status
        )
        requests.inc()
        latency.observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
    finally:
        request_id_var.reset(token)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's response, with every failure turned into a JSON error."""
    try:
        return await handler(request)
    except web.HTTPException as exc:  # aiohttp's own refusals: no route, body too large
        return error(exc.status, _ERROR_CODES.get(exc.status, "http_error"), exc.reason)
    except Exception:
        log.exception("unhandled error")
        return error(500, "internal", "something went wrong in the gateway")


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request[ROUTE] is None:
        return await handler(request)
    settings = request.app[SETTINGS]
    if request.method == "POST" and request.path in _AUTH_PATHS:
        bucket = "auth"
        limit = Limit(settings.gateway_auth_rate_per_minute / 60, settings.gateway_auth_burst)
    else:
        bucket = "all"
        limit = Limit(settings.gateway_rate_per_second, settings.gateway_rate_burst)
    decision = await request.app[LIMITER].check(f"{bucket}:{request.remote}", limit)
    if not decision.allowed:
        return error(
            429,
            "rate_limited",
            "too many requests; slow down",
            **{"Retry-After": decision.retry_after_header},
        )
    return await handler(request)


async def proxy(request: web.Request) -> web.StreamResponse:
    route: Route | None = request[ROUTE]
    if route is None:
        return error(404, "not_found", f"no route for {request.path}")
    if route.websocket:
        return await request.app[PROXY].websocket(request, route)
    return await request.app[PROXY].forward(request, route)


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def prometheus(_: web.Request) -> web.Response:
    content, media_type = metrics.exposition()
    return web.Response(body=content, headers={"Content-Type": media_type})


async def status_json(request: web.Request) -> web.Response:
    upstreams: dict[str, Upstreams] = request.app[UPSTREAMS]
    return web.json_response(snapshot(upstreams, request.app[SETTINGS].gateway_balancer))


async def status_page(_: web.Request) -> web.Response:
    return web.Response(text=STATUS_PAGE, content_type="text/html")


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application(middlewares=[request_context, rate_limit], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/gateway/status", status_json)
    app.router.add_get("/status", status_page)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
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
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
    discovery = DiscoveryClient(settings.discovery_url)

    def update(service: str, instances: list[Instance]) -> None:
        upstreams[service].update(instances)

    watch = Watch(discovery, upstreams, update, interval=settings.gateway_refresh_seconds)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    memory = MemoryLimiter()
    app[UPSTREAMS] = upstreams
    app[PROXY] = Proxy(session, upstreams, timeouts)
    limiter: Limiter = (
        RedisLimiter(redis, memory, prefix=f"{settings.redis_prefix}:ratelimit")
        if redis
        else memory
    )
    app[LIMITER] = limiter
    await watch.start()
    try:
        yield
    finally:
        await watch.stop()
        await discovery.close()
        await session.close()
        if redis is not None:
            await redis.aclose()


def serve(settings: GatewaySettings) -> None:
    configure_logging("gateway", settings.log_level)
    sock = bind(settings.host, settings.gateway_port)
    log.info(
        "gateway listening", extra={"url": f"http://{settings.public_host}:{sock.getsockname()[1]}"}
    )
    web.run_app(create_app(settings), sock=sock, print=None, access_log=None, shutdown_timeout=10)


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(name="gateway", settings=settings, serve=lambda: serve(settings))
