"""The rules of judging: no HTTP here, only sessions and domain errors."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.competitions.models import BallotEntry, Competition, Judge, Score, Submission
from litcomp.competitions.ranking import ballot_counts, bradley_terry
from litcomp.competitions.rules import Action, Judging, Status, ballot_problem
from litcomp.competitions.service import (
    EntryToReactTo,
    competition_allowing,
    get_competition,
    status_of,
    submission_to_react_to,
)
from litcomp.kit.auth import Principal
from litcomp.kit.db import CountedQuery, upsert
from litcomp.kit.errors import Conflict, Forbidden, Invalid, NotFound
from litcomp.kit.times import utcnow


def _judged_by(competition: Competition | EntryToReactTo, judging: Judging) -> None:
    if competition.judging != judging:
        raise Conflict(
            f"this competition is judged by {competition.judging}, not {judging}",
            code="wrong_judging",
        )


async def judges_of(*, session: AsyncSession, competition_id: uuid.UUID) -> list[uuid.UUID]:
    await get_competition(session=session, competition_id=competition_id)
    found = await session.scalars(
        sa.select(Judge.user_id).where(Judge.competition_id == competition_id)
    )
    return sorted(found)


async def may_name_judges(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID, lock: bool = False
) -> Competition:
    """The competition, if ``actor`` may name its judges now: its admin, while it is
    judged by judges and not finished. ``lock`` takes its row for update."""
    query = sa.select(Competition).where(Competition.id == competition_id)
    competition = await session.scalar(query.with_for_update() if lock else query)
    if competition is None:
        raise NotFound("no such competition")
    if competition.admin_id != actor.user_id:
        raise Forbidden("only the competition's admin names its judges")
    _judged_by(competition, Judging.JUDGES)
    if status_of(competition) is Status.FINISHED:
        raise Conflict("the competition has finished", code="competition_finished")
    return competition


async def set_judges(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    user_ids: Sequence[uuid.UUID],
) -> list[uuid.UUID]:
    """Its admin names the judges (replacing the list) until it finishes. A judge
    cannot have an entry in it: only the scores of the judges named now count.
    (Whether each user exists is the caller's to ask the users service.)"""
    await may_name_judges(session=session, actor=actor, competition_id=competition_id, lock=True)
    entrants = set(
        await session.scalars(
            sa.select(Submission.author_id).where(
                Submission.competition_id == competition_id, Submission.author_id.in_(user_ids)
            )
        )
    )
    if entrants:
        raise Conflict(
            "a judge cannot have an entry in the competition they judge",
            code="judge_has_entry",
            details={"user_ids": sorted(str(user) for user in entrants)},
        )
    await session.execute(sa.delete(Judge).where(Judge.competition_id == competition_id))
    if user_ids:
        await session.execute(
            sa.insert(Judge), [{"competition_id": competition_id, "user_id": u} for u in user_ids]
        )
    await session.commit()
    return sorted(user_ids)


async def is_judge(session: AsyncSession, competition_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await session.get(Judge, (competition_id, user_id)) is not None


async def score(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    value: int,
) -> Score:
    """A judge scores an entry 1-10 (again: the new score replaces the old)."""
    entry = await submission_to_react_to(session, competition_id, submission_id, Action.LIKE)
    _judged_by(entry, Judging.JUDGES)
    if not await is_judge(session, competition_id, actor.user_id):
        raise Forbidden("only this competition's judges score its entries", code="not_a_judge")
    values = {"competition_id": competition_id, "score": value, "scored_at": utcnow()}
    await session.execute(
        upsert(session, Score)
        .values(submission_id=submission_id, judge_id=actor.user_id, **values)
        .on_conflict_do_update(index_elements=["submission_id", "judge_id"], set_=values)
    )
    await session.commit()
    return Score(submission_id=submission_id, judge_id=actor.user_id, **values)


async def scores_by(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[Score], int]:
    """A page of the scores the actor has given here (none unless they judge it), and
    how many in all."""
    await get_competition(session=session, competition_id=competition_id)
    theirs = sa.and_(Score.competition_id == competition_id, Score.judge_id == actor.user_id)
    query = sa.select(Score).where(theirs).order_by(Score.scored_at, Score.submission_id)
    rows, total = await CountedQuery(query).page(session, limit=limit, offset=offset)
    return [score for (score,) in rows], total


async def cast_ballot(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    ranking: Sequence[uuid.UUID],
) -> list[BallotEntry]:
    """A reader ranks the entries they read, best first (again: the new ballot
    replaces the old)."""
    competition = await competition_allowing(session, competition_id, Action.LIKE)
    _judged_by(competition, Judging.RANKED)
    rows = await session.execute(
        sa.select(Submission.id, Submission.author_id).where(
            Submission.competition_id == competition_id, Submission.disqualified_at.is_(None)
        )
    )
    entries = {row.id: row.author_id for row in rows}
    own = {entry for entry, author in entries.items() if author == actor.user_id}
    problem = ballot_problem(ranking, entries.keys(), own)
    if problem is not None:
        kind, message = problem
        raise Invalid(
            f"submission_ids: {message}",
            details=[{"location": "body.submission_ids", "message": message, "type": kind}],
        )
    mine = sa.and_(
        BallotEntry.competition_id == competition_id, BallotEntry.voter_id == actor.user_id
    )
    await session.execute(sa.delete(BallotEntry).where(mine))
    now = utcnow()
    ballot = [
        BallotEntry(
            competition_id=competition_id,
            voter_id=actor.user_id,
            position=position,
            submission_id=entry,
            cast_at=now,
        )
        for position, entry in enumerate(ranking)
    ]
    session.add_all(ballot)
    await session.commit()
    return ballot


async def ballot_of(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID
) -> list[BallotEntry]:
    """The actor's ballot, best first (empty when they have cast none)."""
    await get_competition(session=session, competition_id=competition_id)
    found = await session.scalars(
        sa.select(BallotEntry)
        .where(BallotEntry.competition_id == competition_id, BallotEntry.voter_id == actor.user_id)
        .order_by(BallotEntry.position)
    )
    return list(found)


@dataclass(frozen=True)
class Standing:
    """What places an entry: its score, and (ranked) how many ballots it was on."""

    score: float
    ballots: int | None = None


async def standings(
    session: AsyncSession, competition: Competition, entries: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Standing]:
    """The score of each of ``entries`` under the competition's judging, other than
    by likes (the caller has the like counts): the judges' mean (0 with no score),
    or the Bradley-Terry fit of the ballots."""
    if competition.judging == Judging.JUDGES:
        return await _judges_means(session, competition.id, entries)
    return await _bradley_terry(session, competition.id, entries)


# A ballot place as one number in SQL: (voter * POSITIONS + position) * ENTRIES + entry,
# voters and entries numbered 1, 2, ... and 0, 1, ... by id. A ballot ranks at most
# POSITIONS entries (BallotCast), and a competition has fewer than ENTRIES.
POSITIONS = 10_000
ENTRIES = 1_000_000


async def _bradley_terry(
    session: AsyncSession, competition_id: uuid.UUID, entries: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Standing]:
    """The fit of every ballot. A large competition's ballots are some 600,000 places:
    carried as rows of UUIDs through the driver and SQLAlchemy they took 3 s, longer
    than the fit, so each place travels as one number and all of them as one text
    (``aggregate_strings``: string_agg on PostgreSQL, group_concat on SQLite)."""
    numbered = (
        sa.select(
            Submission.id,
            (sa.func.row_number().over(order_by=Submission.id) - 1).label("number"),
        )
        .where(Submission.id.in_(entries))
        .cte("numbered")
    )
    voter = sa.func.dense_rank().over(order_by=BallotEntry.voter_id)
    place = (voter * POSITIONS + BallotEntry.position) * ENTRIES + numbered.c.number
    places = (
        sa.select(place.label("place"))
        .join(numbered, numbered.c.id == BallotEntry.submission_id)
        .where(BallotEntry.competition_id == competition_id)
        .subquery()
    )
    text = await session.scalar(
        sa.select(sa.func.aggregate_strings(sa.cast(places.c.place, sa.String), ","))
    )
    ballots = _ballots(text or "")
    by_number = {number: entry for entry, number in await session.execute(sa.select(numbered))}
    numbers = list(by_number)
    fitted = bradley_terry(numbers, ballots)
    counts = ballot_counts(numbers, ballots)
    return {by_number[n]: Standing(fitted[n], counts[n]) for n in numbers}


def _ballots(text: str) -> list[list[int]]:
    """The places in ``text`` (numbers as ``_bradley_terry`` makes them, in any order)
    as one list of entry numbers per ballot, best first."""
    if not text:
        return []
    places = np.sort(np.array(text.split(","), dtype=np.int64))
    voters = places // (POSITIONS * ENTRIES)
    starts = np.flatnonzero(np.diff(voters)) + 1
    return [ballot.tolist() for ballot in np.split(places % ENTRIES, starts)]


async def _judges_means(
    session: AsyncSession, competition_id: uuid.UUID, entries: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Standing]:
    rows = await session.execute(
        sa.select(Score.submission_id, sa.func.sum(Score.score), sa.func.count())
        .join(
            Judge,
            sa.and_(Judge.competition_id == Score.competition_id, Judge.user_id == Score.judge_id),
        )
        .where(Score.competition_id == competition_id)
        .group_by(Score.submission_id)
    )
    means = {entry: total / count for entry, total, count in rows}
    return {entry: Standing(float(means.get(entry, 0.0))) for entry in entries}
