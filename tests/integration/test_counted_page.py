"""kit.db.CountedQuery on PostgreSQL and SQLite: a page and the whole result's count in
one statement, and the count still right on a page past the end (no row carries it)."""

import uuid
from datetime import timedelta

import sqlalchemy as sa

from litcomp.competitions.models import Competition
from litcomp.kit.db import CountedQuery
from litcomp.kit.times import utcnow
from tests.integration.conftest import Sessions


async def _five(sessions: Sessions) -> str:
    """Five competitions titled ``{prefix} 0`` to ``{prefix} 4``; the prefix."""
    prefix = f"paged {uuid.uuid4().hex[:8]}"
    now = utcnow()
    async with sessions() as session:
        session.add_all(
            Competition(
                title=f"{prefix} {n}",
                admin_id=uuid.uuid4(),
                start_date=now,
                end_date=now + timedelta(days=1),
            )
            for n in range(5)
        )
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
