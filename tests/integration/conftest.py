from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from litcomp.competitions.app import MIGRATIONS as COMPETITIONS_MIGRATIONS
from litcomp.kit.db import create_engine, create_sessionmaker, migrate
from litcomp.users.app import MIGRATIONS as USERS_MIGRATIONS
from tests.support import asyncpg_url

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="session")
async def competitions_engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(asyncpg_url(make_database("it_competitions")))
    await migrate(engine, COMPETITIONS_MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def users_engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(asyncpg_url(make_database("it_users")))
    await migrate(engine, USERS_MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def competitions_sessions(competitions_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(competitions_engine)


@pytest.fixture
async def sqlite_competitions_sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    """The embedded mode's database: SQLite in a file."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/competitions.db")
    await migrate(engine, COMPETITIONS_MIGRATIONS)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> Sessions:
    """The competitions database's sessions, on PostgreSQL and then on SQLite: a test that
    takes them runs on both (each database made only for its run)."""
    name = (
        "competitions_sessions" if request.param == "postgresql" else "sqlite_competitions_sessions"
    )
    found: Sessions = request.getfixturevalue(name)
    return found
