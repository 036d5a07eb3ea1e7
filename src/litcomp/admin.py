"""The ``litcomp`` commands that work on the databases: migrations, admins, the demo's admin.

Apart from cli.py so that ``litcomp serve`` loads none of this (SQLAlchemy, Alembic,
every service's code): see ``cli.SERVICE_MODULES``.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.competitions import app as competitions_app
from litcomp.kit.db import create_engine, create_sessionmaker, migrate
from litcomp.kit.errors import AppError
from litcomp.kit.runner import ServiceSpec
from litcomp.users import app as users_app
from litcomp.users import service as users_service
from litcomp.users.models import User
from litcomp.users.schemas import UserRegister

APPS = {"users": users_app, "competitions": competitions_app}  # those with a database


async def migrate_database(spec: ServiceSpec) -> None:
    if spec.database_url is None or spec.migrations is None:
        return
    engine = create_engine(spec.database_url)
    try:
        await migrate(engine, spec.migrations)
    finally:
        await engine.dispose()


async def migrate_all(services: Sequence[str]) -> None:
    for name in services:
        await migrate_database(APPS[name].spec())
        print(f"{name}: database is up to date", flush=True)


@asynccontextmanager
async def _users_session() -> AsyncIterator[AsyncSession]:
    """A session on the users database, migrated first (the platform may not run yet)."""
    spec = users_app.spec()
    await migrate_database(spec)
    assert spec.database_url is not None
    engine = create_engine(spec.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def create_admin(email: str, username: str, password: str) -> None:
    """Works while the platform runs: it only talks to the users database."""
    try:
        account = UserRegister(email=email, username=username, password=password)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"create-admin: {problems}") from None
    try:
        async with _users_session() as session:
            user, created = await users_service.create_admin(
                session=session,
                email=account.email,
                username=account.username,
                password=account.password,
            )
    except AppError as exc:
        raise SystemExit(f"create-admin: {exc.message}") from None
    verb = "created admin" if created else "promoted to admin"
    print(f"{verb}: {user.username} <{user.email}> ({user.id})")


async def demo_admin(email: str, username: str, password: str) -> None:
    """Create the demo's admin, unless the platform has writers already (SystemExit:
    ``litcomp demo`` fills an empty platform only; admins alone do not count)."""
    async with _users_session() as session:
        writers = await session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.role != "admin")
        )
    if writers:
        raise SystemExit(
            f"litcomp demo fills an empty platform only, and this one has {writers} writer(s)"
            " already: sample data would mix with real data"
        )
    await create_admin(email, username, password)
