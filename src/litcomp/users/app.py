"""The users service application: resources opened at start, closed at stop."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from litcomp.kit import http
from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.db import create_engine, create_sessionmaker, migrate, ping
from litcomp.kit.grpc import start_server
from litcomp.kit.runner import ServiceSpec
from litcomp.users.api import router
from litcomp.users.competitions_client import CompetitionsClient
from litcomp.users.grpc import Users
from litcomp.users.settings import UsersSettings, get_settings
from litcomp.v1.users_pb2_grpc import add_UsersServicer_to_server

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: UsersSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.users_database_url)
        await migrate(engine, MIGRATIONS)
        sessionmaker = create_sessionmaker(engine)
        key = SigningKey.load_or_create(settings.jwt_private_key_file)
        competitions = CompetitionsClient(
            target=settings.competitions_grpc_target, timeout=settings.grpc_timeout_seconds
        )
        grpc_server, app.state.grpc_port = await start_server(
            service="users",
            registrations=[(add_UsersServicer_to_server, Users(sessionmaker))],
            host=settings.host,
            port=settings.users_grpc_port,
        )
        app.state.settings = settings
        app.state.sessionmaker = sessionmaker
        app.state.signing_key = key
        app.state.token_verifier = TokenVerifier(PublicKeys.of(key), issuer=settings.jwt_issuer)
        app.state.competitions = competitions
        app.state.health_checks["database"] = lambda: ping(engine)
        try:
            yield
        finally:
            await grpc_server.stop(grace=5)
            await competitions.close()
            await engine.dispose()

    return http.create_app(
        service="users", title="litcomp users", lifespan=lifespan, routers=[router]
    )


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(
        name="users",
        settings=settings,
        database_url=settings.users_database_url,
        migrations=MIGRATIONS,
        http_port=settings.users_http_port,
        create_app=lambda: create_app(settings),
    )
