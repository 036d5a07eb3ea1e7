"""The reading queue and reads on real databases, PostgreSQL and SQLite alike: what
``service.list_submissions(sort="queue")`` lists and in what order, what reading an
entry records, and what a page costs."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.competitions.models import Read
from litcomp.competitions.service import EntryPage, SubmissionSort
from litcomp.kit.auth import Principal
from litcomp.kit.errors import Unauthorized
from litcomp.kit.times import utcnow
from tests.integration.statements import counting_statements

Sessions = async_sessionmaker[AsyncSession]


def person() -> Principal:
    return Principal(user_id=uuid.uuid4(), role="user", username="someone")


class Contest:
    """A competition open for entries and likes, and helpers to act on it."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.id = uuid.uuid4()

    async def open(self, **fields: object) -> "Contest":
        async with self.sessions() as session:
            competition = await service.create_competition(
                session=session,
                admin=Principal(user_id=uuid.uuid4(), role="admin"),
                fields={
                    "title": "Queued",
                    "description": "",
                    "start_date": utcnow() - timedelta(hours=1),
                    "end_date": utcnow() + timedelta(hours=1),
                    **fields,
                },
            )
        self.id = competition.id
        return self

    async def enter(self, author: Principal | None = None) -> uuid.UUID:
        async with self.sessions() as session:
            return await service.submit(
                session=session,
                actor=author or person(),
                competition_id=self.id,
                title="t",
                content="c",
            )

    async def like(self, who: Principal, entry: uuid.UUID) -> None:
        async with self.sessions() as session:
            await service.like(
                session=session, actor=who, competition_id=self.id, submission_id=entry
            )

    async def read(self, who: Principal, entry: uuid.UUID) -> bool:
        async with self.sessions() as session:
            submission = await service.get_submission(
                session=session, competition_id=self.id, submission_id=entry
            )
            return await service.record_read(
                session=session,
                reader=who,
                submission_id=submission.id,
                author_id=submission.author_id,
            )

    async def page(
        self,
        who: Principal | None,
        limit: int = 100,
        offset: int = 0,
        sort: SubmissionSort = "queue",
    ) -> EntryPage:
        async with self.sessions() as session:
            return await service.list_submissions(
                session=session,
                reader=who,
                competition_id=self.id,
                sort=sort,
                limit=limit,
                offset=offset,
            )

    async def queue(self, who: Principal) -> list[uuid.UUID]:
        return [s.id for s in (await self.page(who)).entries]


async def test_the_readers_own_entries_are_left_out_and_not_counted(sessions: Sessions):
    contest = await Contest(sessions).open(max_entries_per_user=2)
    me = person()
    mine = {await contest.enter(me), await contest.enter(me)}
    others = {await contest.enter() for _ in range(3)}
    page = await contest.page(me)
    assert {s.id for s in page.entries} == others and page.total == 3
    assert not mine & {s.id for s in page.entries}
    assert (await contest.page(me, sort="new")).total == 5


async def test_unread_and_unliked_first_then_fewest_likes(sessions: Sessions):
    contest = await Contest(sessions).open()
    me = person()
    popular, liked_once, quiet, opened, liked_by_me = [await contest.enter() for _ in range(5)]
    for _ in range(3):
        await contest.like(person(), popular)
    await contest.like(person(), liked_once)
    assert await contest.read(me, opened)
    assert not await contest.read(me, opened)  # noted once
    await contest.like(me, liked_by_me)
    order = await contest.queue(me)
    assert order[:3] == [quiet, liked_once, popular]
    # Behind them the two the reader has seen: the opened one (0 likes) first.
    assert order[3:] == [opened, liked_by_me]
    page = await contest.page(me)
    assert page.read == {opened}  # liking is not reading


async def test_two_readers_get_their_own_tie_orders_each_stable_across_pages(
    sessions: Sessions,
):
    contest = await Contest(sessions).open()
    entries = {await contest.enter() for _ in range(12)}
    ann, bob = person(), person()
    whole = await contest.queue(ann)
    assert whole != await contest.queue(bob)  # 12! orders: alike by chance ~never
    pages = [await contest.page(ann, limit=5, offset=offset) for offset in (0, 5, 10)]
    paged = [s.id for page in pages for s in page.entries]
    assert paged == whole and set(paged) == entries and len(paged) == 12
    assert [page.total for page in pages] == [12, 12, 12]
    assert (await contest.page(ann, limit=5, offset=12)).entries == []


async def test_a_read_entry_moves_behind_the_unread(sessions: Sessions):
    contest = await Contest(sessions).open()
    for _ in range(4):
        await contest.enter()
    me = person()
    first = (await contest.queue(me))[0]
    await contest.read(me, first)
    after = await contest.queue(me)
    assert after[-1] == first and len(after) == 4


async def test_without_a_reader_there_is_no_queue(sessions: Sessions):
    contest = await Contest(sessions).open()
    await contest.enter()
    with pytest.raises(Unauthorized):
        await contest.page(None)


async def test_other_sorts_say_which_entries_the_reader_has_opened(sessions: Sessions):
    contest = await Contest(sessions).open()
    opened, other = await contest.enter(), await contest.enter()
    me = person()
    await contest.read(me, opened)
    for sort in ("new", "top"):
        assert (await contest.page(me, sort=sort)).read == {opened}  # type: ignore[arg-type]
        assert (await contest.page(None, sort=sort)).read == frozenset()  # type: ignore[arg-type]
        assert (await contest.page(person(), sort=sort)).read == frozenset()  # type: ignore[arg-type]
    assert other not in (await contest.page(me, sort="new")).read


async def test_an_author_opening_their_own_entry_is_not_noted(sessions: Sessions):
    contest = await Contest(sessions).open()
    author = person()
    entry = await contest.enter(author)
    assert not await contest.read(author, entry)
    async with sessions() as session:
        assert await session.get(Read, (author.user_id, entry)) is None


async def test_reads_go_with_a_withdrawn_entry(sessions: Sessions):
    contest = await Contest(sessions).open()
    author, me = person(), person()
    entry = await contest.enter(author)
    await contest.read(me, entry)
    async with sessions() as session:
        await service.withdraw_submission(
            session=session, actor=author, competition_id=contest.id, submission_id=entry
        )
    async with sessions() as session:
        assert (
            await session.scalar(sa.select(sa.func.count()).where(Read.user_id == me.user_id)) == 0
        )


async def test_an_anonymous_competitions_queue_orders_by_like_buckets(sessions: Sessions):
    """4 and 7 likes are one bucket there: which comes first is the reader's tie order."""
    contest = await Contest(sessions).open(anonymous=True)
    four, seven, none = [await contest.enter() for _ in range(3)]
    for entry, likes in ((four, 4), (seven, 7)):
        for _ in range(likes):
            await contest.like(person(), entry)
    page = await contest.page(person())
    assert page.veil.hides_likes
    orders = {tuple(await contest.queue(person())) for _ in range(30)}
    assert {order[0] for order in orders} == {none}
    assert {order[1:] for order in orders} == {(four, seven), (seven, four)}


async def test_a_queue_page_costs_three_statements_however_long(sessions: Sessions):
    contest = await Contest(sessions).open()
    for _ in range(25):
        await contest.enter()
    me = person()
    await contest.read(me, (await contest.queue(me))[0])

    async def statements_for(limit: int) -> int:
        with counting_statements(sessions.kw["bind"]) as statements:
            page = await contest.page(me, limit=limit)
        assert (len(page.entries), page.total) == (limit, 25)
        return len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))])

    # The competition; every entry's likes and the reader's reads and likes; the page.
    assert await statements_for(2) == await statements_for(20) == 3
