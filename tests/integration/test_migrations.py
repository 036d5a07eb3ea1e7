"""The migrations build exactly the schema the models describe, on both databases."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from litcomp.competitions.app import MIGRATIONS as COMPETITIONS_MIGRATIONS
from litcomp.competitions.models import Base as CompetitionsBase
from litcomp.competitions.models import Competition
from litcomp.competitions.rules import Schedule
from litcomp.kit.db import UTCDateTime, create_engine, migrate
from litcomp.kit.times import utcnow
from litcomp.users.app import MIGRATIONS as USERS_MIGRATIONS
from litcomp.users.models import Base as UsersBase
from tests.support import asyncpg_url

# SQLite cannot reflect expression indexes (lower(email)); PostgreSQL compares them.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
]

SERVICES = {
    "users": (USERS_MIGRATIONS, UsersBase.metadata),
    "competitions": (COMPETITIONS_MIGRATIONS, CompetitionsBase.metadata),
}


def _differences(connection: Connection, metadata: sa.MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _migrated_differences(engine: AsyncEngine, service: str) -> list[object]:
    migrations, metadata = SERVICES[service]
    try:
        await migrate(engine, migrations)
        await migrate(engine, migrations)  # a second run is a no-op
        async with engine.connect() as connection:
            return await connection.run_sync(_differences, metadata)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_postgresql_schema_matches_the_models(
    service: str, make_database: Callable[[str], str]
):
    engine = create_engine(asyncpg_url(make_database(f"schema_{service}")))
    assert await _migrated_differences(engine, service) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_sqlite_schema_matches_the_models(service: str, tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / service}.db")
    differences = await _migrated_differences(engine, service)
    # SQLite reflects neither expression nor descending index parts faithfully;
    # the PostgreSQL test above compares indexes.
    assert [d for d in differences if d[0] not in ("add_index", "remove_index")] == []


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
async def test_competitions_made_before_phases_keep_their_behaviour(
    database: str, make_database: Callable[[str], str], tmp_path: Path
):
    """0006 adds the voting phase and the terms: a competition that was there before
    has none of them, and its comments still close at the end as they did."""
    url = (
        asyncpg_url(make_database("phases"))
        if database == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path / 'phases.db'}"
    )
    engine = create_engine(url)
    try:
        await migrate(engine, COMPETITIONS_MIGRATIONS, "0005")
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO competitions (id, title, description, admin_id, start_date,"
                    " end_date, max_entries_per_user, created_at, updated_at) VALUES"
                    " (:id, 'Old', '', :admin, :start, :end, 1, :start, :start)"
                ),
                {
                    "id": uuid.uuid4().hex if database == "sqlite" else uuid.uuid4(),
                    "admin": uuid.uuid4().hex if database == "sqlite" else uuid.uuid4(),
                    "start": datetime(2025, 1, 1, tzinfo=UTC),
                    "end": datetime(2025, 2, 1, tzinfo=UTC),
                },
            )
        await migrate(engine, COMPETITIONS_MIGRATIONS)
        async with AsyncSession(engine) as session:
            old = (await session.scalars(sa.select(Competition))).one()
        assert old.schedule == Schedule(old.start_date, old.end_date, None)
        assert (old.prompt, old.rules, old.tags) == ("", "", [])
        assert (old.word_min, old.word_max, old.comments_after_results) == (None, None, False)
    finally:
        await engine.dispose()


# Tables as they are before 0008, for writing old rows.
_competitions = sa.table(
    "competitions",
    *(sa.column(name, sa.Uuid()) for name in ("id", "admin_id")),
    *(sa.column(name, sa.String()) for name in ("title", "description")),
    *(sa.column(name, UTCDateTime()) for name in ("start_date", "end_date")),
    *(sa.column(name, UTCDateTime()) for name in ("created_at", "updated_at")),
    sa.column("max_entries_per_user", sa.Integer()),
)
_submissions = sa.table(
    "submissions",
    *(sa.column(name, sa.Uuid()) for name in ("id", "competition_id", "author_id")),
    *(sa.column(name, sa.String()) for name in ("title", "content")),
    sa.column("like_count", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
)
_likes = sa.table(
    "likes",
    *(sa.column(name, sa.Uuid()) for name in ("submission_id", "user_id")),
    sa.column("created_at", UTCDateTime()),
)
STORIES = {
    "don't stop \u2014 it's well-known": 4,
    "東京に行きます": 7,
    "# Chapter *one*\n\n> A quote, and then***\n\n---": 6,
    "e\u0301te\u0301": 1,
}


def _downgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(COMPETITIONS_MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def _counts_after_0008(engine: AsyncEngine) -> None:
    """0008 counts the words of the entries written before it and loses nothing; its
    downgrade loses nothing either."""
    now = utcnow()
    competition, reader = uuid.uuid4(), uuid.uuid4()
    # More entries than the migration reads at once (a page of 200).
    texts = [*STORIES, *(f"entry number {n}" for n in range(201))]
    entries = {uuid.uuid4(): text for text in texts}
    expected = {entry: STORIES.get(text, 3) for entry, text in entries.items()}
    try:
        await migrate(engine, COMPETITIONS_MIGRATIONS, "0007")
        async with engine.begin() as connection:
            await connection.execute(
                _competitions.insert().values(
                    id=competition,
                    admin_id=reader,
                    title="Before word counts",
                    description="",
                    start_date=now,
                    end_date=now + timedelta(days=1),
                    created_at=now,
                    updated_at=now,
                    max_entries_per_user=1,
                )
            )
            rows = [
                {
                    "id": entry,
                    "competition_id": competition,
                    "author_id": uuid.uuid4(),
                    "title": "Old",
                    "content": text,
                    "like_count": 1,
                    "created_at": now,
                }
                for entry, text in entries.items()
            ]
            await connection.execute(_submissions.insert(), rows)
            likes = [{"submission_id": e, "user_id": reader, "created_at": now} for e in entries]
            await connection.execute(_likes.insert(), likes)

        await migrate(engine, COMPETITIONS_MIGRATIONS, "0008")
        async with engine.begin() as connection:
            counted = sa.select(_submissions.c.id, sa.column("word_count", sa.Integer()))
            found = await connection.execute(counted.select_from(_submissions))
            assert {entry: words for entry, words in found} == expected
            assert await connection.scalar(sa.text("SELECT count(*) FROM likes")) == len(entries)

        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0007")
            assert await connection.scalar(sa.text("SELECT count(*) FROM likes")) == len(entries)
    finally:
        await engine.dispose()


async def test_0008_counts_the_words_of_entries_on_postgresql(
    make_database: Callable[[str], str],
):
    await _counts_after_0008(create_engine(asyncpg_url(make_database("word_counts"))))


async def test_0008_counts_the_words_of_entries_on_sqlite(tmp_path: Path):
    await _counts_after_0008(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'words'}.db"))
