"""The competitions service application: resources opened at start, closed at stop."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from redis.asyncio import Redis

from litcomp.competitions.api import router
from litcomp.competitions.cache import CompetitionCache
from litcomp.competitions.grpc import Competitions
from litcomp.competitions.judging.api import router as judging_router
from litcomp.competitions.lifecycle import Finalizer
from litcomp.competitions.moderation.api import items as moderated_items
from litcomp.competitions.moderation.api import router as moderation_router
from litcomp.competitions.notifications.api import router as notifications_router
from litcomp.competitions.notifications.fanout import FanoutWorker
from litcomp.competitions.notifications.hub import Hub
from litcomp.competitions.notifications.sockets import socket_server
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.competitions.search.api import router as search_router
from litcomp.competitions.settings import CompetitionsSettings, get_settings
from litcomp.competitions.users_client import UsersClient
from litcomp.kit import http
from litcomp.kit.auth import PublicKeys, TokenVerifier
from litcomp.kit.instance import database, discovered, grpc_server, peer
from litcomp.kit.runner import ServiceSpec, serve_asgi
from litcomp.kit.suspensions import Suspensions
from litcomp.v1.competitions_pb2_grpc import add_CompetitionsServicer_to_server
from litcomp.v1.users_pb2_grpc import UsersStub

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: CompetitionsSettings, http_port: int) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        users_peer = peer(caller="competitions", service="users", stub=UsersStub, settings=settings)
        users = UsersClient(users_peer)
        app.state.settings = settings
        app.state.users = users
        suspensions = Suspensions(
            users.suspended, refresh_seconds=settings.suspensions_refresh_seconds
        )
        app.state.token_verifier = TokenVerifier(
            PublicKeys(users.jwks), issuer=settings.jwt_issuer, suspensions=suspensions
        )
        async with AsyncExitStack() as stack:
            stack.push_async_callback(users.close)
            sessions = await stack.enter_async_context(
                database(app, "competitions", settings.competitions_database_url, MIGRATIONS)
            )
            redis = (
                Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=2)
                if settings.redis_url
                else None
            )
            if redis is not None:
                stack.push_async_callback(redis.aclose)
            app.state.cache = CompetitionCache.connect(
                settings.redis_url, prefix=settings.redis_prefix
            )
            stack.push_async_callback(app.state.cache.close)
            app.state.hub = Hub(app.state.read_sessionmaker)
            app.state.wakeups = Wakeups(
                app.state.hub,
                redis,
                channel=f"{settings.redis_prefix}:notifications",
                poll_seconds=settings.notifications_poll_seconds,
            )
            app.state.fanout = FanoutWorker(
                sessions,
                app.state.read_sessionmaker,
                users,
                app.state.wakeups,
                poll_seconds=settings.notifications_poll_seconds,
            )
            finalizer = Finalizer(
                sessions, app.state.wakeups, poll_seconds=settings.finalize_poll_seconds
            )
            for worker in (app.state.wakeups, app.state.fanout, finalizer):
                await worker.start()
                stack.push_async_callback(worker.stop)
            grpc_port = await stack.enter_async_context(
                grpc_server(
                    service="competitions",
                    settings=settings,
                    port=settings.competitions_grpc_port,
                    registrations=[(add_CompetitionsServicer_to_server, Competitions(sessions))],
                )
            )
            # Entered before registering, so it is left after deregistering.
            ws_port = await stack.enter_async_context(
                socket_server(
                    app.state.hub,
                    app.state.token_verifier,
                    suspensions,
                    settings.host,
                    settings.competitions_ws_port,
                )
            )
            await stack.enter_async_context(
                discovered(
                    app,
                    service="competitions",
                    settings=settings,
                    http_port=http_port,
                    grpc_port=grpc_port,
                    ws_port=ws_port,
                    peers=[users_peer],
                )
            )
            # Once users can be found; until its first answer no one is refused.
            await suspensions.start()
            stack.push_async_callback(suspensions.stop)
            yield

    return http.create_app(
        service="competitions",
        title="litcomp competitions",
        lifespan=lifespan,
        routers=[
            router,
            judging_router,
            moderated_items,
            moderation_router,
            notifications_router,
            search_router,
        ],
    )


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(
        name="competitions",
        settings=settings,
        serve=lambda: serve_asgi(
            "competitions",
            settings,
            settings.competitions_http_port,
            lambda port: create_app(settings, port),
        ),
        database_url=settings.competitions_database_url,
        migrations=MIGRATIONS,
    )
