"""The discovery service application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from litcomp.discovery.api import router
from litcomp.discovery.registry import MemoryRegistry, RedisRegistry
from litcomp.discovery.settings import DiscoverySettings, get_settings
from litcomp.kit import http
from litcomp.kit.runner import ServiceSpec, serve_asgi


def create_app(settings: DiscoverySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        if settings.redis_url is None:
            app.state.registry = MemoryRegistry()
            yield
            return
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        app.state.registry = RedisRegistry(redis, prefix=f"{settings.redis_prefix}:discovery")

        async def redis_reachable() -> None:
            await redis.ping()

        app.state.health_checks["redis"] = redis_reachable
        try:
            yield
        finally:
            await redis.aclose()

    return http.create_app(
        service="discovery", title="litcomp discovery", lifespan=lifespan, routers=[router]
    )


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(
        name="discovery",
        settings=settings,
        serve=lambda: serve_asgi(
            "discovery", settings, settings.discovery_port, lambda _port: create_app(settings)
        ),
    )
