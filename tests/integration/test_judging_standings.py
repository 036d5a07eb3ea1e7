"""The standings finalizing reads from the database are the ones the ballots and scores
make, on PostgreSQL and on SQLite alike (the ballots travel as one text of numbers)."""

import random
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.judging.service import standings
from litcomp.competitions.models import BallotEntry, Competition, Judge, Score, Submission
from litcomp.competitions.ranking import ballot_counts, bradley_terry
from litcomp.kit.times import utcnow

Sessions = async_sessionmaker[AsyncSession]


async def _competition(session: AsyncSession, judging: str, entries: int) -> Competition:
    now = utcnow()
    competition = Competition(
        title="Judged",
        admin_id=uuid.uuid4(),
        start_date=now - timedelta(days=2),
        end_date=now - timedelta(days=1),
        voting_end_date=now - timedelta(seconds=1),
        judging=judging,
    )
    session.add(competition)
    await session.flush()
    for n in range(entries):
        session.add(
            Submission(
                competition_id=competition.id,
                author_id=uuid.uuid4(),
                title=f"Entry {n}",
                content="Words",
            )
        )
    await session.flush()
    return competition


async def _entry_ids(session: AsyncSession, competition: Competition) -> list[uuid.UUID]:
    found = await session.scalars(
        sa.select(Submission.id).where(Submission.competition_id == competition.id)
    )
    return list(found)


async def test_ranked_standings_are_the_fit_of_the_stored_ballots(sessions: Sessions):
    chance = random.Random(7)
    async with sessions() as session:
        competition = await _competition(session, "ranked", 12)
        entries = await _entry_ids(session, competition)
        ballots = [chance.sample(entries, chance.randint(3, 12)) for _ in range(40)]
        for ballot in ballots:
            voter = uuid.uuid4()
            session.add_all(
                BallotEntry(
                    competition_id=competition.id,
                    voter_id=voter,
                    position=position,
                    submission_id=entry,
                )
                for position, entry in enumerate(ballot)
            )
        await session.commit()
        found = await standings(session, competition, entries)
    expected = bradley_terry(entries, ballots)
    counts = ballot_counts(entries, ballots)
    assert {e: (s.score, s.ballots) for e, s in found.items()} == {
        e: (expected[e], counts[e]) for e in entries
    }


async def test_judges_standings_are_the_mean_of_the_judges_named_now(sessions: Sessions):
    async with sessions() as session:
        competition = await _competition(session, "judges", 3)
        first, second, unscored = await _entry_ids(session, competition)
        named, dropped = uuid.uuid4(), uuid.uuid4()
        session.add(Judge(competition_id=competition.id, user_id=named))
        marks = [(named, first, 8), (named, second, 5), (dropped, first, 1)]
        session.add_all(
            Score(competition_id=competition.id, judge_id=judge, submission_id=entry, score=mark)
            for judge, entry, mark in marks
        )
        await session.commit()
        found = await standings(session, competition, [first, second, unscored])
    assert {e: s.score for e, s in found.items()} == {first: 8.0, second: 5.0, unscored: 0.0}
