"""Finalizing a competition: once, whole, whatever races or crashes."""

import asyncio
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import lifecycle, service
from litcomp.competitions.models import Competition, Notification, Placement, Submission
from litcomp.competitions.notifications.store import Recorded
from litcomp.competitions.rules import Action
from litcomp.kit.times import utcnow
from tests.integration.scenes import open_competition

Sessions = async_sessionmaker[AsyncSession]


async def _ended_competition(sessions: Sessions, authors: list[uuid.UUID]) -> uuid.UUID:
    """A competition that has just ended, with one entry per author (liked 0, 1, 2, ...)."""
    competition_id = await open_competition(sessions, "Ended")
    async with sessions() as session:
        competition = await session.get_one(Competition, competition_id)
        for n, author in enumerate(authors):
            session.add(
                Submission(
                    competition_id=competition.id,
                    author_id=author,
                    title=f"entry {n}",
                    content="…",
                    like_count=n,
                    created_at=utcnow() - timedelta(minutes=30 - n),
                )
            )
        competition.end_date = utcnow() - timedelta(seconds=1)
        await session.commit()
        return competition.id


async def test_two_replicas_racing_write_one_result_and_one_notice_each(
    competitions_sessions: Sessions,
):
    authors = [uuid.uuid4() for _ in range(5)]
    competition_id = await _ended_competition(competitions_sessions, authors)

    async def finalize() -> list[Recorded] | None:
        async with competitions_sessions() as session:
            return await lifecycle.finalize(session, competition_id)

    outcomes = await asyncio.gather(*(finalize() for _ in range(4)))
    winners = [o for o in outcomes if o is not None]
    assert len(winners) == 1
    assert sorted(n.user_id for n in winners[0]) == sorted(authors)
    async with competitions_sessions() as session:
        places = list(
            await session.execute(
                sa.select(Placement.place, Submission.author_id)
                .join(Submission, Submission.id == Placement.submission_id)
                .where(Placement.competition_id == competition_id)
                .order_by(Placement.place)
            )
        )
        notices = list(
            await session.execute(
                sa.select(Notification.user_id, Notification.data).where(
                    Notification.user_id.in_(authors), Notification.type == "competition.placed"
                )
            )
        )
    assert [author for _, author in places] == authors[::-1]  # most likes first
    assert sorted(user for user, _ in notices) == sorted(authors)
    place_of = {user: data["place"] for user, data in notices}
    assert place_of[authors[-1]] == 1 and place_of[authors[0]] == 5


async def test_a_crash_part_way_leaves_nothing_and_another_replica_finishes(
    competitions_sessions: Sessions,
):
    authors = [uuid.uuid4() for _ in range(3)]
    competition_id = await _ended_competition(competitions_sessions, authors)
    async with competitions_sessions() as session:
        # A replica claims and writes the places, then dies before committing.
        await session.execute(
            sa.update(Competition)
            .where(Competition.id == competition_id)
            .values(finalized_at=utcnow())
        )
        await session.execute(
            sa.insert(Placement).values(
                competition_id=competition_id,
                submission_id=(
                    await session.scalar(
                        sa.select(Submission.id).where(Submission.competition_id == competition_id)
                    )
                ),
                place=1,
                likes=0,
            )
        )
        await session.rollback()  # what a dropped connection amounts to
    async with competitions_sessions() as session:
        notified = await lifecycle.finalize(session, competition_id)
    assert notified is not None and sorted(n.user_id for n in notified) == sorted(authors)
    async with competitions_sessions() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).where(Placement.competition_id == competition_id)
        )
        again = await lifecycle.finalize(session, competition_id)
    assert count == 3
    assert again is None


async def test_a_like_in_flight_at_the_end_is_counted_before_the_places(
    competitions_sessions: Sessions,
):
    authors = [uuid.uuid4()]
    competition_id = await _ended_competition(competitions_sessions, authors)
    async with competitions_sessions() as session:
        entry = await session.scalar(
            sa.select(Submission.id).where(Submission.competition_id == competition_id)
        )
        competition = await session.get(Competition, competition_id)
        assert entry is not None and competition is not None
        competition.end_date = utcnow() + timedelta(seconds=1)  # open again, for a moment
        await session.commit()
    async with competitions_sessions() as liking:
        # What service.like does before it commits: check the competition is open
        # (taking its row in key-share mode) and count the like.
        await service.submission_to_react_to(liking, competition_id, entry, Action.LIKE)
        await service._count_like(liking, entry, +1)
        await asyncio.sleep(max(0.0, (competition.end_date - utcnow()).total_seconds()) + 0.1)

        async def finalize() -> list[Recorded] | None:
            async with competitions_sessions() as session:
                return await lifecycle.finalize(session, competition_id)

        finalizing = asyncio.create_task(finalize())
        await asyncio.sleep(0.3)
        assert not finalizing.done()  # it waits for the like in flight
        await liking.commit()
    assert await finalizing is not None
    async with competitions_sessions() as session:
        likes = await session.scalar(
            sa.select(Placement.likes).where(Placement.competition_id == competition_id)
        )
    assert likes == 1
