"""Finishing competitions: final places and "your place" notices, written exactly once.

Once a competition has ended, one transaction claims it with a conditional UPDATE
(``finalized_at`` from NULL to now, only if still NULL), then writes every place and
one notice per participant. A concurrent claimer blocks on the row and then finds it
taken; a crash before commit rolls everything back, leaving the competition to be
claimed again. So places and notices exist once, or not at all. An anonymous
competition's subscribers are told its authors are revealed by a fan-out job written
in that same transaction.

Every replica runs a ``Finalizer`` that looks for ended, unfinalized competitions;
asking for results finalizes on the spot too.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.judging.service import Standing, standings
from litcomp.competitions.models import RESULTS_AT, Competition, FanoutJob, Placement, Submission
from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import (
    CompetitionPlaced,
    CompetitionRevealed,
    Placed,
    PlacedEntry,
    Revealed,
    type_name,
)
from litcomp.competitions.notifications.store import Notice, Recorded
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.competitions.rules import Judging, Place, placed
from litcomp.competitions.service import writer_published
from litcomp.kit.background import Background
from litcomp.kit.db import is_outage
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)


async def finalize(session: AsyncSession, competition_id: uuid.UUID) -> list[Recorded] | None:
    """Write the final places if the competition has ended and nobody has yet.

    Returns the participants notified, or None if there was nothing to do.
    """
    now = utcnow()
    state = (
        await session.execute(
            sa.select(Competition.finalized_at, RESULTS_AT.label("results_at")).where(
                Competition.id == competition_id
            )
        )
    ).first()
    if state is None or state.finalized_at is not None or state.results_at > now:
        return None  # unknown, done already, or not over: nothing to claim
    # Likes in flight hold a key-share lock on the row (service._open_competition):
    # locking it for update waits for them, so their counts are in the places.
    await session.execute(
        sa.select(Competition.id).where(Competition.id == competition_id).with_for_update()
    )
    claimed = await session.execute(
        sa.update(Competition)
        .where(
            Competition.id == competition_id,
            Competition.finalized_at.is_(None),
            now >= RESULTS_AT,
        )
        .values(finalized_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return None
    competition = await session.get(Competition, competition_id)
    assert competition is not None
    places = await _place(session, competition)
    notified = await store.record(session, _placement_notices(competition, places))
    if competition.anonymous:
        session.add(_reveal(competition, len(places)))
        # Now that its authors are shown, each one's followers hear of their entries
        # (those of a competition that names its authors heard when they were entered).
        session.add_all(
            FanoutJob(**writer_published(competition, p.entry.id, p.entry.title, p.entry.author_id))
            for p in places
        )
    await session.commit()
    log.info("competition finalized", extra={"competition_id": str(competition_id)})
    return notified


async def _place(session: AsyncSession, competition: Competition) -> list[Place[Any]]:
    """Write the places of its entries (a disqualified one has none), by the
    competition's judging."""
    entries = list(
        await session.execute(
            sa.select(
                Submission.id,
                Submission.title,
                Submission.author_id,
                Submission.like_count,
                Submission.created_at,
            ).where(
                Submission.competition_id == competition.id, Submission.disqualified_at.is_(None)
            )
        )
    )
    if competition.judging == Judging.LIKES:
        standing = {entry.id: Standing(entry.like_count) for entry in entries}
    else:
        standing = await standings(session, competition, [entry.id for entry in entries])
    places = placed(entries, lambda entry: standing[entry.id].score)
    if places:
        await session.execute(
            sa.insert(Placement),
            [
                {
                    "competition_id": competition.id,
                    "submission_id": placing.entry.id,
                    "place": placing.place,
                    "likes": placing.entry.like_count,
                    "score": standing[placing.entry.id].score,
                    "ballots": standing[placing.entry.id].ballots,
                }
                for placing in places
            ],
        )
    return places


async def place_again(session: AsyncSession, competition: Competition) -> None:
    """Write a finalized competition's places anew, in the caller's transaction (an
    entry was disqualified after the results). Nobody is told again."""
    await session.execute(sa.delete(Placement).where(Placement.competition_id == competition.id))
    await _place(session, competition)


def _placement_notices(competition: Competition, places: list[Place[Any]]) -> list[Notice[Placed]]:
    """One notice per participant: their best place, and the place of each entry."""
    by_author: dict[uuid.UUID, list[PlacedEntry]] = defaultdict(list)
    for placing in places:
        entry = placing.entry
        by_author[entry.author_id].append(
            PlacedEntry(
                submission_id=entry.id,
                title=entry.title,
                place=placing.place,
                tied=placing.tied,
                likes=entry.like_count,
            )
        )
    participants = len(places)
    return [
        _placed_notice(competition, author, entries, participants)
        for author, entries in by_author.items()
    ]


def _placed_notice(
    competition: Competition, author: uuid.UUID, entries: list[PlacedEntry], participants: int
) -> Notice[Placed]:
    best = min(entries, key=lambda e: e.place)
    data = Placed(
        competition_id=competition.id,
        competition_title=competition.title,
        place=best.place,
        tied=best.tied,
        participants=participants,
        entries=entries,
    )
    return Notice(author, CompetitionPlaced, data)


def _reveal(competition: Competition, entries: int) -> FanoutJob:
    """Its subscribers' notice that the authors are shown (by the fan-out worker)."""
    data = Revealed(
        competition_id=competition.id, competition_title=competition.title, entries=entries
    )
    return FanoutJob(
        type=type_name(CompetitionRevealed),
        competition_id=competition.id,
        data=data.model_dump(mode="json"),
    )


class Finalizer(Background):
    """Finalizes ended competitions every ``poll_seconds``."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        wakeups: Wakeups,
        *,
        poll_seconds: float,
    ) -> None:
        super().__init__()
        self._sessionmaker = sessionmaker
        self._wakeups = wakeups
        self._poll = poll_seconds

    async def start(self) -> None:
        self.start_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await self.finalize_due()
            except Exception as error:
                if not is_outage(error):
                    log.exception("finalizing competitions failed; trying again later")

    async def finalize_due(self) -> None:
        async with self._sessionmaker() as session:
            due = list(
                await session.scalars(
                    sa.select(Competition.id)
                    .where(Competition.finalized_at.is_(None), utcnow() >= RESULTS_AT)
                    .order_by(RESULTS_AT)
                    .limit(50)
                )
            )
        for competition_id in due:
            async with self._sessionmaker() as session:
                notified = await finalize(session, competition_id)
            if notified:
                await self._wakeups.notify(notified)
