"""kit.db.CountedQuery on PostgreSQL and SQLite: a page and the whole result's count in
one statement, and the count still right on a page past the end (no row carries it);
kit.db.rows and kit.db.run, which run a statement on the session's connection, in its
transaction."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from litcomp.competitions.models import Base, Competition
from litcomp.kit.db import CountedQuery, columns, rows, run
from litcomp.kit.times import utcnow
from tests.integration.conftest import Sessions


def _competition(title: str) -> Competition:
    now = utcnow()
    return Competition(
        title=title, admin_id=uuid.uuid4(), start_date=now, end_date=now + timedelta(days=1)
    )


async def _five(sessions: Sessions) -> str:
    """Five competitions titled ``{prefix} 0`` to ``{prefix} 4``; the prefix."""
    prefix = f"paged {uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        session.add_all(_competition(f"{prefix} {n}") for n in range(5))
        await session.commit()
    return prefix


async def test_a_page_and_the_count_of_all_even_past_the_end(sessions: Sessions) -> None:
    prefix = await _five(sessions)
    query = (
        sa.select(Competition.title)
        .where(Competition.title.startswith(prefix))
        .order_by(Competition.title)
    )
    pages = CountedQuery(query)

    async def page(limit: int, offset: int) -> tuple[list[str], int]:
        async with sessions() as session:
            rows, total = await pages.page(session, limit=limit, offset=offset)
        return [title for (title,) in rows], total

    assert await page(2, 0) == ([f"{prefix} 0", f"{prefix} 1"], 5)
    assert await page(2, 4) == ([f"{prefix} 4"], 5)
    assert await page(2, 5) == ([], 5)
    assert await page(2, 1000) == ([], 5)


async def test_nothing_to_page_counts_none(sessions: Sessions) -> None:
    title = sa.bindparam("title")
    pages = CountedQuery(sa.select(Competition).where(Competition.title == title))
    async with sessions() as session:
        for offset in (0, 10):
            none = await pages.page(session, limit=10, offset=offset, title=str(uuid.uuid4()))
            assert none == ([], 0)


async def test_a_page_of_objects_holds_objects(sessions: Sessions) -> None:
    prefix = await _five(sessions)
    query = sa.select(Competition).where(Competition.title.startswith(prefix))
    async with sessions() as session:
        page, total = await CountedQuery(query.order_by(Competition.title)).page(
            session, limit=2, offset=3
        )
    assert [competition.title for (competition,) in page] == [f"{prefix} 3", f"{prefix} 4"]
    assert total == 5


async def test_rows_see_what_the_session_has_pending(sessions: Sessions) -> None:
    prefix = await _five(sessions)
    titles = sa.select(Competition.title).where(Competition.title.startswith(sa.bindparam("p")))
    async with sessions() as session:
        first = (
            await session.scalars(sa.select(Competition).where(Competition.title == f"{prefix} 0"))
        ).one()
        first.title = f"{prefix} 9"  # dirty
        session.add(_competition(f"{prefix} 5"))  # new
        found = sorted(title for (title,) in await rows(session, titles, {"p": prefix}))
        await session.rollback()
    assert found == [f"{prefix} {n}" for n in (1, 2, 3, 4, 5, 9)]


async def test_run_writes_in_the_session_s_transaction(sessions: Sessions) -> None:
    prefix = await _five(sessions)
    table = Base.metadata.tables[Competition.__tablename__]
    rename = sa.update(table).where(table.c.title == sa.bindparam("old"))
    titles = sa.select(Competition.title).where(Competition.title.startswith(sa.bindparam("p")))
    async with sessions() as session:
        session.add(_competition(f"{prefix} 5"))  # pending: flushed before the statement runs
        renamed = await run(session, rename.values(title=f"{prefix} 6"), {"old": f"{prefix} 5"})
        assert renamed.rowcount == 1
        await session.rollback()
    async with sessions() as session:
        found = sorted(title for (title,) in await rows(session, titles, {"p": prefix}))
    assert found == [f"{prefix} {n}" for n in range(5)]  # both went with the rollback


@dataclass(frozen=True)
class _Titled:
    title: str
    id: uuid.UUID
    shouted: str


async def test_columns_select_a_dataclass_s_fields_in_their_order(sessions: Sessions) -> None:
    prefix = await _five(sessions)
    selected = columns(Competition, _Titled, shouted=sa.func.upper(Competition.title))
    query = sa.select(*selected).where(Competition.title == f"{prefix} 2")
    async with sessions() as session:
        (found,) = [_Titled(*row) for row in await rows(session, query, {})]
    assert found.title == f"{prefix} 2"
    assert isinstance(found.id, uuid.UUID)
    assert found.shouted == f"{prefix} 2".upper()
