"""Rules that must hold under concurrency, on a real PostgreSQL database."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.competitions.models import Like, Notification, Submission
from litcomp.kit.auth import Principal
from litcomp.kit.errors import Conflict
from tests.integration.scenes import open_competition
from tests.integration.statements import counting_statements

Sessions = async_sessionmaker[AsyncSession]


async def _submit(sessions: Sessions, competition_id: uuid.UUID, author: uuid.UUID) -> uuid.UUID:
    async with sessions() as session:
        return await service.submit(
            session=session,
            actor=Principal(user_id=author, role="user", username="writer"),
            competition_id=competition_id,
            title="t",
            content="c",
        )


async def test_concurrent_likes_are_all_counted_once(competitions_sessions: Sessions):
    competition_id = await open_competition(competitions_sessions, "Concurrent")
    author = uuid.uuid4()
    submission_id = await _submit(competitions_sessions, competition_id, author)
    likers = [uuid.uuid4() for _ in range(40)]

    async def like(user_id: uuid.UUID) -> bool:
        async with competitions_sessions() as session:
            outcome = await service.like(
                session=session,
                actor=Principal(user_id=user_id, role="user", username="reader"),
                competition_id=competition_id,
                submission_id=submission_id,
            )
        return outcome.changed

    # Every liker twice, all at once: only the first like of each counts, and the
    # author hears of each once (the notices are numbered 1..40 with no gap).
    added = await asyncio.gather(*(like(u) for u in likers + likers))
    assert sum(added) == len(likers)
    async with competitions_sessions() as session:
        count = await session.scalar(
            sa.select(Submission.like_count).where(Submission.id == submission_id)
        )
        rows = await session.scalar(
            sa.select(sa.func.count()).where(Like.submission_id == submission_id)
        )
        numbers = list(
            await session.scalars(
                sa.select(Notification.seq)
                .where(Notification.user_id == author)
                .order_by(Notification.seq)
            )
        )
    assert count == rows == len(likers)
    assert numbers == list(range(1, len(likers) + 1))


async def test_racing_entries_respect_the_entry_limit(competitions_sessions: Sessions):
    await _race_entries(competitions_sessions)


async def test_racing_entries_respect_the_entry_limit_on_sqlite(
    sqlite_competitions_sessions: Sessions,
):
    await _race_entries(sqlite_competitions_sessions)


async def _race_entries(sessions: Sessions) -> None:
    competition_id = await open_competition(sessions, "Concurrent", max_entries_per_user=2)
    author = uuid.uuid4()
    outcomes = await asyncio.gather(
        *(_submit(sessions, competition_id, author) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, uuid.UUID) for o in outcomes) == 2
    assert all(isinstance(o, (uuid.UUID, Conflict)) for o in outcomes)


@pytest.mark.parametrize("sort", ["new", "top"])
async def test_a_page_of_entries_costs_the_same_queries_however_long(
    competitions_engine: AsyncEngine, competitions_sessions: Sessions, sort: str
):
    competition_id = await open_competition(competitions_sessions, "Concurrent")
    authors = [uuid.uuid4() for _ in range(25)]
    for author in authors:
        await _submit(competitions_sessions, competition_id, author)

    async def statements_for(limit: int) -> int:
        async with competitions_sessions() as session:
            with counting_statements(competitions_engine) as statements:
                page = await service.list_submissions(
                    session=session,
                    reader=None,
                    competition_id=competition_id,
                    sort=sort,  # type: ignore[arg-type]
                    limit=limit,
                    offset=0,
                )
        assert (len(page.entries), page.total) == (limit, 25)
        return len(statements)

    assert await statements_for(2) == await statements_for(20)


async def test_each_write_sends_the_statements_its_docstring_counts(
    competitions_engine: AsyncEngine, competitions_sessions: Sessions
):
    """The round trips of service.py's docstrings, less BEGIN and COMMIT (the driver's
    adapter sends those itself: no cursor event sees them)."""
    competition_id = await open_competition(
        competitions_sessions, "Concurrent", max_entries_per_user=2
    )
    author = Principal(user_id=uuid.uuid4(), role="user", username="writer")
    reader = Principal(user_id=uuid.uuid4(), role="user", username="reader")
    ids = {"competition_id": competition_id}

    async def statements(write: Callable[[AsyncSession], Awaitable[object]]) -> int:
        async with competitions_sessions() as session:
            with counting_statements(competitions_engine) as sent:
                await write(session)
        return len(sent)

    entry: list[uuid.UUID] = []

    async def enter(session: AsyncSession) -> None:
        entry.append(
            await service.submit(session=session, actor=author, title="t", content="c", **ids)
        )

    assert await statements(enter) == 4  # lock, checks, entry, fan-out jobs
    on_entry = {**ids, "submission_id": entry[0]}
    async with competitions_sessions() as session:
        await service.save_draft(session=session, actor=author, title="d", content="d", **ids)
    assert await statements(enter) == 5  # lock, checks, entry, the draft deleted, jobs
    anonymous = {
        "competition_id": await open_competition(competitions_sessions, "A", anonymous=True)
    }

    async def enter_anonymously(session: AsyncSession) -> None:
        await service.submit(session=session, actor=author, title="t", content="c", **anonymous)

    assert await statements(enter_anonymously) == 4  # lock, checks, entry, one job

    def like(session: AsyncSession) -> Awaitable[object]:
        return service.like(session=session, actor=reader, **on_entry)

    def unlike(session: AsyncSession) -> Awaitable[object]:
        return service.unlike(session=session, actor=reader, **on_entry)

    def comment(who: Principal) -> Callable[[AsyncSession], Awaitable[object]]:
        return lambda session: service.comment(
            session=session, actor=who, content="Hm", parent_id=None, **on_entry
        )

    assert await statements(like) == 3  # entry, like (counted, noted), notification
    assert await statements(like) == 2  # entry, like (there already)
    assert await statements(unlike) == 2  # entry, like (uncounted)
    assert await statements(like) == 2  # entry, like (the author was told before)
    assert await statements(comment(reader)) == 3  # entry, comment, notification
    assert await statements(comment(author)) == 2  # entry, comment: nobody is told


async def test_likes_unlikes_and_likes_again_count_once_and_tell_once(sessions: Sessions):
    competition_id = await open_competition(sessions, "Concurrent")
    author = uuid.uuid4()
    entry = await _submit(sessions, competition_id, author)
    reader = Principal(user_id=uuid.uuid4(), role="user", username="reader")
    on_entry = {"competition_id": competition_id, "submission_id": entry}

    async def like() -> tuple[bool, int]:
        async with sessions() as session:
            outcome = await service.like(session=session, actor=reader, **on_entry)
        return outcome.changed, len(outcome.notified)

    async def unlike() -> bool:
        async with sessions() as session:
            return await service.unlike(session=session, actor=reader, **on_entry)

    async def counted() -> tuple[int | None, int | None]:
        async with sessions() as session:
            likes = await session.scalar(
                sa.select(Submission.like_count).where(Submission.id == entry)
            )
            told = await session.scalar(
                sa.select(sa.func.count()).where(Notification.user_id == author)
            )
        return likes, told

    assert await like() == (True, 1)
    assert await like() == (False, 0)
    assert await counted() == (1, 1)
    assert await unlike() is True
    assert await unlike() is False
    assert await counted() == (0, 1)
    assert await like() == (True, 0)  # counted again; the author was told already
    assert await counted() == (1, 1)
