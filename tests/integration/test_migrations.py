"""The migrations build exactly the schema the models describe, on both databases."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from litcomp.competitions.app import MIGRATIONS as COMPETITIONS_MIGRATIONS
from litcomp.competitions.markdown import to_html
from litcomp.competitions.models import Base as CompetitionsBase
from litcomp.competitions.models import (
    Comment,
    Competition,
    FanoutJob,
    Like,
    Placement,
    Submission,
)
from litcomp.kit.db import create_engine, migrate, outside_search
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
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": outside_search}
    )
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


def _row_id(database: str) -> uuid.UUID | str:
    """A new id as each database's driver takes it in raw SQL."""
    return uuid.uuid4().hex if database == "sqlite" else uuid.uuid4()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
async def test_competitions_made_before_phases_keep_their_behaviour_and_their_entries(
    database: str, make_database: Callable[[str], str], tmp_path: Path
):
    """0006 adds the voting phase and the terms: a competition that was there before
    has none of them, and its comments still close at the end as they did; 0010 leaves
    it not anonymous, and an entry's fan-out job waiting then still announces it; 0012
    judges it by likes, as its places were. Every
    entry, like and comment comes through every migration since (on SQLite a batch
    migration rebuilds a table, which with foreign keys on deleted them by cascade)."""
    url = (
        asyncpg_url(make_database("phases"))
        if database == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path / 'phases.db'}"
    )
    engine = create_engine(url)
    competition, entry, comment = (_row_id(database) for _ in range(3))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = {
        "competition": competition,
        "entry": entry,
        "comment": comment,
        "start": start,
        "end": datetime(2025, 2, 1, tzinfo=UTC),
    }
    try:
        await migrate(engine, COMPETITIONS_MIGRATIONS, "0005")
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO competitions (id, title, description, admin_id, start_date,"
                " end_date, max_entries_per_user, created_at, updated_at) VALUES"
                " (:competition, 'Old', '', :entry, :start, :end, 1, :start, :start)",
                "INSERT INTO submissions (id, competition_id, author_id, title, content,"
                " like_count, created_at) VALUES (:entry, :competition, :comment, 'Kept',"
                " 'Three words here', 1, :start)",
                "INSERT INTO likes (submission_id, user_id, created_at)"
                " VALUES (:entry, :competition, :start)",
                "INSERT INTO comments (id, submission_id, author_id, content, created_at)"
                " VALUES (:comment, :entry, :competition, 'Kept too', :start)",
                "INSERT INTO fanout_jobs (competition_id, submission_id, author_id, data,"
                " created_at) VALUES (:competition, :entry, :comment, '{}', :start)",
                "INSERT INTO placements (submission_id, competition_id, place, likes)"
                " VALUES (:entry, :competition, 1, 1)",
            ):
                await connection.execute(sa.text(statement), rows)
        await migrate(engine, COMPETITIONS_MIGRATIONS)
        async with AsyncSession(engine) as session:
            old = (await session.scalars(sa.select(Competition))).one()
            kept = (await session.scalars(sa.select(Submission))).one()
            likes = await session.scalar(sa.select(sa.func.count()).select_from(Like))
            comments = await session.scalar(sa.select(sa.func.count()).select_from(Comment))
            comment_html = await session.scalar(sa.select(Comment.content_html))
            job = (await session.scalars(sa.select(FanoutJob))).one()
            placement = (await session.scalars(sa.select(Placement))).one()
        assert old.schedule.voting_end is None
        assert (old.anonymous, old.judging) == (False, "likes")
        assert (placement.score, placement.ballots) == (1.0, None)  # its likes placed it
        assert (job.type, job.submission_id, job.author_id) == (
            "submission.created",
            uuid.UUID(str(entry)),
            uuid.UUID(str(comment)),
        )
        assert (old.prompt, old.rules, old.tags) == ("", "", [])
        assert (old.word_min, old.word_max, old.comments_after_results) == (None, None, False)
        assert (kept.title, kept.word_count, kept.edited_at) == ("Kept", 3, None)
        assert (likes, comments) == (1, 1)
        # 0009 rendered what was there, as new text is rendered when written.
        assert (kept.content_html, comment_html) == (
            to_html("Three words here"),
            to_html("Kept too"),
        )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
async def test_linked_pictures_are_dropped_when_pictures_become_uploads(
    database: str, make_database: Callable[[str], str], tmp_path: Path
):
    """0009: a picture linked from another host would leak its viewers' addresses and is
    blocked by the CSP; it is forgotten (the writer uploads one), nothing else changes."""
    url = (
        asyncpg_url(make_database("pictures"))
        if database == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path / 'pictures.db'}"
    )
    engine = create_engine(url)
    linked, plain = _row_id(database), _row_id(database)
    try:
        await migrate(engine, USERS_MIGRATIONS, "0008")
        async with engine.begin() as connection:
            for user, name, picture in (
                (linked, "linked", "https://example.com/me.png"),
                (plain, "plain", ""),
            ):
                await connection.execute(
                    sa.text(
                        "INSERT INTO users (id, username, email, username_key, email_key,"
                        " password_hash, role, bio, profile_picture, created_at) VALUES"
                        " (:id, :name, :email, :name, :email, 'x', 'user', 'Bio', :picture,"
                        " :now)"
                    ),
                    {
                        "id": user,
                        "name": name,
                        "email": f"{name}@example.com",
                        "picture": picture,
                        "now": datetime(2025, 1, 1, tzinfo=UTC),
                    },
                )
        await migrate(engine, USERS_MIGRATIONS)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.text("SELECT username, profile_picture, bio FROM users")
                )
            ).all()
        assert sorted(tuple(row) for row in rows) == [("linked", "", "Bio"), ("plain", "", "Bio")]
    finally:
        await engine.dispose()
