"""The competitions service application: resources opened at start, closed at stop."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from litcomp.competitions.api import router
from litcomp.competitions.grpc import Competitions
from litcomp.competitions.settings import CompetitionsSettings, get_settings
from litcomp.competitions.users_client import UsersClient
from litcomp.kit import http
from litcomp.kit.auth import PublicKeys, TokenVerifier
from litcomp.kit.db import create_engine, create_sessionmaker, migrate, ping
from litcomp.kit.errors import Unavailable
from litcomp.kit.grpc import start_server
from litcomp.kit.runner import ServiceSpec
from litcomp.v1.competitions_pb2_grpc import add_CompetitionsServicer_to_server

MIGRATIONS = Path(__file__).parent / "migrations"


def _jwks_fetcher(client: httpx.AsyncClient, url: str) -> Any:
    async def fetch() -> Mapping[str, Any]:
        try:
            response = await client.get(url)
            response.raise_for_status()
        except httpx.HTTPError:
            raise Unavailable("cannot fetch the users service's signing keys") from None
        document: Mapping[str, Any] = response.json()
        return document

    return fetch


def create_app(settings: CompetitionsSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.competitions_database_url)
        await migrate(engine, MIGRATIONS)
        sessionmaker = create_sessionmaker(engine)
        jwks_http = httpx.AsyncClient(timeout=settings.grpc_timeout_seconds)
        keys = PublicKeys(_jwks_fetcher(jwks_http, settings.users_jwks_url))
        users = UsersClient(
            target=settings.users_grpc_target, timeout=settings.grpc_timeout_seconds
        )
        grpc_server, app.state.grpc_port = await start_server(
            service="competitions",
            registrations=[(add_CompetitionsServicer_to_server, Competitions(sessionmaker))],
            host=settings.host,
            port=settings.competitions_grpc_port,
        )
        app.state.settings = settings
        app.state.sessionmaker = sessionmaker
        app.state.token_verifier = TokenVerifier(keys, issuer=settings.jwt_issuer)
        app.state.users = users
        app.state.health_checks["database"] = lambda: ping(engine)
        try:
            yield
        finally:
            await grpc_server.stop(grace=5)
            await users.close()
            await jwks_http.aclose()
            await engine.dispose()

    return http.create_app(
        service="competitions", title="litcomp competitions", lifespan=lifespan, routers=[router]
    )


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(
        name="competitions",
        settings=settings,
        database_url=settings.competitions_database_url,
        migrations=MIGRATIONS,
        http_port=settings.competitions_http_port,
        create_app=lambda: create_app(settings),
    )
