"""The gateway process: its resources, its listening socket, and stopping cleanly.

``Dispatcher`` (dispatch.py) answers each request; this module wires it to discovery,
the instance tables, the connection pool, the rate limiter and the client connections,
and runs it on uvloop.
"""

import asyncio
import contextlib
import logging
import resource
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvloop
from redis.asyncio import Redis

from litcomp.gateway import dispatch
from litcomp.gateway.client_protocol import ClientConnection, Connections
from litcomp.gateway.clients import Networks
from litcomp.gateway.dispatch import Dispatcher
from litcomp.gateway.forwarding import Forwarder
from litcomp.gateway.pool import ConnectionPool
from litcomp.gateway.ratelimit import Limiter, MemoryLimiter, RedisLimiter, SyncedLimiter
from litcomp.gateway.routes import ROUTES, timeout_for
from litcomp.gateway.settings import GatewaySettings, get_settings
from litcomp.kit.background import Background
from litcomp.kit.balancer import BALANCERS, Instance
from litcomp.kit.breaker import BreakerPolicy
from litcomp.kit.discovery import DiscoveryClient, Watch
from litcomp.kit.errors import LARGER_BODIES, MAX_BODY_BYTES
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.logging import configure_logging
from litcomp.kit.outliers import OutlierPolicy
from litcomp.kit.runner import ServiceSpec, bind

log = logging.getLogger(__name__)


def hot_path_compiled() -> bool:
    """Whether this process runs the hot path as built with ``LITCOMP_COMPILE=1``
    (setup.py): its modules are then extensions; else it runs interpreted."""
    return not str(dispatch.__file__).endswith(".py")


@asynccontextmanager
async def running(settings: GatewaySettings) -> AsyncIterator[Dispatcher]:
    """The gateway with its resources: instance tables fed by discovery, pooled
    connections, the rate limiter (shared through Redis when configured)."""
    policy = BreakerPolicy(
        failure_threshold=settings.gateway_breaker_failures,
        cooldown=settings.gateway_breaker_cooldown_seconds,
    )
    instances = {
        service: InstanceTable(
            caller="gateway",
            service=service,
            balancer=BALANCERS[settings.gateway_balancer](),
            policy=policy,
            outlier_policy=OutlierPolicy(interval=settings.gateway_outlier_interval_seconds),
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

    def update(service: str, listed: list[Instance]) -> None:
        instances[service].update(listed)

    watch = Watch(discovery, instances, update, interval=settings.gateway_refresh_seconds)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    memory = MemoryLimiter()
    limiter: Limiter = memory
    auth_limiter: Limiter = memory
    # SyncedLimiter is compiled by mypyc, and a compiled class cannot subclass the
    # interpreted Background: its loop runs in one instead.
    syncing = Background()
    if redis is not None:
        prefix = f"{settings.redis_prefix}:ratelimit"
        synced = SyncedLimiter(redis, memory, prefix=prefix)
        limiter, auth_limiter = synced, RedisLimiter(redis, memory, prefix=prefix)
        syncing.start_task(synced.run())
    pool = ConnectionPool()
    await watch.start()
    try:
        forwarder = Forwarder(pool, instances, timeouts)
        yield Dispatcher(settings, instances, forwarder, limiter, auth_limiter)
    finally:
        await syncing.stop()
        await watch.stop()
        await discovery.close()
        pool.close()
        if redis is not None:
            await redis.aclose()


def connections_for(settings: GatewaySettings) -> Connections:
    return Connections(
        max_body=MAX_BODY_BYTES,
        max_open=settings.gateway_max_connections,
        max_per_client=settings.gateway_max_connections_per_client,
        header_timeout=settings.gateway_header_timeout_seconds,
        body_timeout=settings.gateway_body_timeout_seconds,
        idle_timeout=settings.gateway_idle_timeout_seconds,
        proxies=Networks(list(settings.gateway_trusted_proxies)),
        larger_bodies=LARGER_BODIES,
    )


def raise_file_limit(max_connections: int) -> None:
    """Let the process open the files its connection cap allows: a client connection
    and its upstream one (two for a tunnel), and some to spare. The soft limit is often
    1,024, which would refuse connections with EMFILE long before the cap."""
    needed = 2 * max_connections + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < needed:
            log.warning(
                "open files limited below what the connection cap needs",
                extra={"limit": raised, "needed": needed},
            )


async def serve_until_stopped(settings: GatewaySettings) -> None:
    sock = bind(settings.host, settings.gateway_port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    raise_file_limit(settings.gateway_max_connections)
    connections = connections_for(settings)
    async with running(settings) as dispatcher:
        server = await loop.create_server(
            lambda: ClientConnection(dispatcher.handle, dispatcher.tunnel, connections), sock=sock
        )
        log.info(
            "gateway listening",
            extra={
                "url": f"http://{settings.public_host}:{sock.getsockname()[1]}",
                "compiled": hot_path_compiled(),
            },
        )
        await stop.wait()
        log.info("gateway stopping", extra={"connections": len(connections.open)})
        server.close()
        # Idle kept-alive connections and tunnels close now, the others once their answer
        # is out; what is left after a deadline is cut. Without this, clients that kept
        # reusing their connections held the process until it was killed (make faults).
        closing = [connection.close_when_idle() for connection in list(connections.open)]
        if closing:
            await asyncio.wait(closing, timeout=settings.gateway_timeout_seconds + 1)
        for connection in list(connections.open):
            connection.abort()
        connections.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 10)
        log.info("gateway stopped")


def serve(settings: GatewaySettings) -> None:
    configure_logging("gateway", settings.log_level)
    uvloop.run(serve_until_stopped(settings))


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(name="gateway", settings=settings, serve=lambda: serve(settings))
