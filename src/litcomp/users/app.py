"""The users service application: resources opened at start, closed at stop."""

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.kit import http
from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.instance import database, discovered, grpc_server, peer
from litcomp.kit.runner import ServiceSpec, serve_asgi
from litcomp.kit.suspensions import Suspensions
from litcomp.users import people_api, service
from litcomp.users.api import router
from litcomp.users.competitions_client import CompetitionsClient
from litcomp.users.grpc import Users
from litcomp.users.mail import MailSender, transport_for
from litcomp.users.outbox import OutboxWorker
from litcomp.users.settings import UsersSettings, get_settings
from litcomp.v1.competitions_pb2_grpc import CompetitionsStub
from litcomp.v1.users_pb2_grpc import add_UsersServicer_to_server

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: UsersSettings, http_port: int) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key = SigningKey.load_or_create(settings.jwt_private_key_file)
        app.state.settings = settings
        app.state.signing_key = key
        app.state.token_secret = key.derive_secret("account tokens")
        competitions = peer(
            caller="users", service="competitions", stub=CompetitionsStub, settings=settings
        )
        app.state.competitions = CompetitionsClient(competitions)
        async with AsyncExitStack() as stack:
            sessions = await stack.enter_async_context(
                database(app, "users", settings.users_database_url, MIGRATIONS)
            )
            suspensions = Suspensions(
                lambda: _suspended(app.state.read_sessionmaker),
                refresh_seconds=settings.suspensions_refresh_seconds,
            )
            # Known before the first request: the database is ours, and up (migrated).
            await suspensions.refresh()
            await suspensions.start()
            stack.push_async_callback(suspensions.stop)
            app.state.suspensions = suspensions
            app.state.token_verifier = TokenVerifier(
                PublicKeys.of(key), issuer=settings.jwt_issuer, suspensions=suspensions
            )
            grpc_port = await stack.enter_async_context(
                grpc_server(
                    service="users",
                    settings=settings,
                    port=settings.users_grpc_port,
                    registrations=[(add_UsersServicer_to_server, Users(sessions))],
                )
            )
            await stack.enter_async_context(
                discovered(
                    app,
                    service="users",
                    settings=settings,
                    http_port=http_port,
                    grpc_port=grpc_port,
                    peers=[competitions],
                )
            )
            # Once competitions can be found, and stopped before its channels close.
            outbox = OutboxWorker(
                sessions,
                app.state.competitions,
                poll_seconds=settings.moderation_outbox_poll_seconds,
            )
            await outbox.start()
            stack.push_async_callback(outbox.stop)
            app.state.moderation_outbox = outbox
            mail = MailSender(
                sessions,
                transport_for(settings.smtp_url, settings.mail_dir),
                secret=app.state.token_secret,
                public_url=settings.public_url,
                sender=settings.mail_from,
                poll_seconds=settings.mail_poll_seconds,
            )
            await mail.start()
            stack.push_async_callback(mail.stop)
            app.state.mail_sender = mail
            yield

    return http.create_app(
        service="users",
        title="litcomp users",
        lifespan=lifespan,
        routers=[router, people_api.router],
    )


async def _suspended(sessions: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID, str]:
    async with sessions() as session:
        return await service.all_suspended(session=session)


def spec() -> ServiceSpec:
    settings = get_settings()
    return ServiceSpec(
        name="users",
        settings=settings,
        serve=lambda: serve_asgi(
            "users", settings, settings.users_http_port, lambda port: create_app(settings, port)
        ),
        database_url=settings.users_database_url,
        migrations=MIGRATIONS,
    )
