"""The parts of a service instance's life that every service shares, as context managers
for its lifespan: its database, its gRPC server, and its place in discovery.

An instance's lifespan enters them in that order, so on the way down it first leaves
discovery (callers stop choosing it), then stops its gRPC server, then closes its
database.
"""

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import Pool, QueuePool

from litcomp import __version__
from litcomp.kit import grpc, metrics
from litcomp.kit.balancer import BALANCERS, Instance
from litcomp.kit.db import create_engine, create_sessionmaker, migrate, ping
from litcomp.kit.discovery import DiscoveryClient, Registration, Watch
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.settings import BaseServiceSettings


def new_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@asynccontextmanager
async def database(
    app: FastAPI, service: str, url: str, migrations: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Migrate, then hand out sessions; ``/health`` checks the database from now on, and
    ``/metrics`` shows the connection pool."""
    engine = create_engine(url)
    watch_pool(service, engine.sync_engine.pool)
    try:
        await migrate(engine, migrations)
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_sessionmaker(engine, read_only=True)
        app.state.health_checks["database"] = lambda: ping(engine)
        yield app.state.sessionmaker
    finally:
        await engine.dispose()


def watch_pool(service: str, pool: Pool) -> None:
    """Read the pool's numbers when metrics are scraped (SQLite's pool keeps none)."""
    if not isinstance(pool, QueuePool):
        return
    metrics.DB_POOL.labels(service, "in_use").set_function(pool.checkedout)
    metrics.DB_POOL.labels(service, "idle").set_function(pool.checkedin)
    metrics.DB_POOL.labels(service, "size").set_function(pool.size)


@asynccontextmanager
async def grpc_server(
    *,
    service: str,
    settings: BaseServiceSettings,
    port: int,
    registrations: Iterable[tuple[grpc.Register, Any]],
) -> AsyncIterator[int]:
    """Serve gRPC while inside; yields the bound port."""
    server, bound = await grpc.start_server(
        service=service, registrations=registrations, host=settings.host, port=port
    )
    try:
        yield bound
    finally:
        await server.stop(grace=5)


def peer(*, caller: str, service: str, stub: Any, settings: BaseServiceSettings) -> grpc.Client:
    """A gRPC client for another service, balanced and breaker-guarded per instance."""
    instances = InstanceTable(
        caller=caller,
        service=service,
        balancer=BALANCERS[settings.balancer](),
        forget_after=settings.discovery_grace_seconds,
    )
    return grpc.Client(stub=stub, instances=instances, timeout=settings.grpc_timeout_seconds)


@asynccontextmanager
async def discovered(
    app: FastAPI,
    *,
    service: str,
    settings: BaseServiceSettings,
    http_port: int,
    grpc_port: int,
    ws_port: int = 0,
    peers: Sequence[grpc.Client] = (),
) -> AsyncIterator[None]:
    """Registered with discovery (heartbeating our load), and watching our peers."""
    client = DiscoveryClient(settings.discovery_url)
    instance = Instance(
        service=service,
        instance_id=new_instance_id(),
        host=settings.public_host,
        http_port=http_port,
        grpc_port=grpc_port,
        ws_port=ws_port,
        version=__version__,
        restarts=settings.instance_restarts,
    )
    by_service = {p.service: p for p in peers}

    async def update(name: str, instances: list[Instance]) -> None:
        await by_service[name].update(name, instances)

    watch = Watch(client, by_service, update)
    registration = Registration(client, instance, load=app.state.in_flight)
    app.state.instance = instance
    await watch.start()
    await registration.start()
    try:
        yield
    finally:
        await registration.stop()
        await watch.stop()
        for each in peers:
            await each.close()
        await client.close()
