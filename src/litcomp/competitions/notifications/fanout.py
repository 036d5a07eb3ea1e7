"""The fan-out worker: tells a competition's subscribers of a new entry, or that an
anonymous competition has revealed its authors; and a writer's followers of an entry
of theirs anyone can now read (``writer.published``).

The entry's (or the finalizing) transaction leaves a job. A worker on any replica reads
the due jobs (up to ``BATCH`` in one statement) and, for each, asks the users service
for the subscribers (outside any transaction: no lock or connection is held during the
remote calls; each competition's are asked once per batch), then in one short
transaction deletes the job and records one notice per subscriber. Only the transaction
whose DELETE removed the job goes on, so if two replicas work on the same job, one of
them records it. If users cannot be reached the job stays and is tried again; if a
replica dies mid-way its transaction rolls back and another replica does the job. Each
subscriber hears once.
A job that fails for any other reason is tried again later (after 2, 4, 8, ... up to
300 s), and the jobs behind it go first.

One notice per person per entry: a follower of the writer who also subscribes to the
competition gets no ``writer.published`` (the subscribers are read when its batch is
done), since ``submission.created`` tells them of the entry, naming the writer, or, in
an anonymous competition, ``competition.revealed`` tells them its authors are shown.
A ``writer.published`` job for an entry disqualified before it is done tells nobody.
"""

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.models import FanoutJob, Submission
from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import (
    AboutEntry,
    CompetitionRevealed,
    Message,
    Revealed,
    SubmissionCreated,
    WriterPublished,
    type_name,
)
from litcomp.competitions.notifications.store import Notice
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.background import Worker, retry_delay
from litcomp.kit.db import is_outage, run
from litcomp.kit.errors import Unavailable
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)

# What a job announces, by its type: the message and the model of its data.
ANNOUNCEMENTS: dict[str, tuple[type[Message[Any]], type[BaseModel]]] = {
    type_name(SubmissionCreated): (SubmissionCreated, AboutEntry),
    type_name(CompetitionRevealed): (CompetitionRevealed, Revealed),
    type_name(WriterPublished): (WriterPublished, AboutEntry),
}
WRITER_PUBLISHED = type_name(WriterPublished)
BATCH = 100  # due jobs read in one statement


class FanoutWorker(Worker):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        read_sessionmaker: async_sessionmaker[AsyncSession],
        users: UsersClient,
        wakeups: Wakeups,
        *,
        poll_seconds: float,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self._sessionmaker = sessionmaker
        self._read_sessionmaker = read_sessionmaker
        self._users = users
        self._wakeups = wakeups

    async def work(self) -> None:
        """Do the jobs that are due until none is, or users cannot be reached."""
        try:
            while await self.work_batch():
                pass
        except Unavailable as error:
            log.info("fan-out waits for the users service: %s", error.message)
        except Exception as error:
            if not is_outage(error):
                log.exception("fan-out failed; the job stays and is retried")

    async def work_batch(self) -> bool:
        """Do the jobs that are due, up to ``BATCH``; False when that was all of them, or
        another replica is working through them.

        Two replicas that read the same jobs would otherwise race through all of them,
        each asking users for every job and one of them deleting nothing: the first
        job found taken leaves the rest to the replica that took it (whatever that one
        did not read, the next poll or kick finds).
        """
        async with self._read_sessionmaker() as session:
            due = sa.or_(FanoutJob.next_attempt_at.is_(None), FanoutJob.next_attempt_at <= utcnow())
            jobs = list(
                await session.scalars(
                    sa.select(FanoutJob).where(due).order_by(FanoutJob.id).limit(BATCH)
                )
            )
        subscribers: dict[uuid.UUID, list[uuid.UUID]] = {}  # by competition
        for job in jobs:
            try:
                if not await self._do(job, subscribers):
                    return False
            except Unavailable:
                raise  # every job would fail alike: wait for users, blaming none
            except Exception as error:
                if is_outage(error):
                    raise
                log.exception("fan-out job failed; it is retried later", extra={"job": job.id})
                await self._postpone(job)
        return len(jobs) == BATCH

    async def _postpone(self, job: FanoutJob) -> None:
        delay = retry_delay(job.attempts)
        async with self._sessionmaker() as session:
            await session.execute(
                sa.update(FanoutJob)
                .where(FanoutJob.id == job.id)
                .values(attempts=FanoutJob.attempts + 1, next_attempt_at=utcnow() + delay)
            )
            await session.commit()

    async def _do(self, job: FanoutJob, subscribers: dict[uuid.UUID, list[uuid.UUID]]) -> bool:
        """Do ``job``, unless another replica did (False); ``subscribers`` holds those
        asked for already, by competition."""
        kind, model = ANNOUNCEMENTS[job.type]
        data = model.model_validate(job.data)  # one for all: record() serialises it once
        if job.competition_id not in subscribers:
            subscribers[job.competition_id] = await self._users.subscribers(job.competition_id)
        users = subscribers[job.competition_id]
        if job.type == WRITER_PUBLISHED:
            data, users = await self._followers_told(job, data, set(users))
        notices = [Notice(user, kind, data) for user in users if user != job.author_id]
        async with self._sessionmaker() as session:
            taken = (await run(session, _TAKE, {"job_id": job.id})).first()
            if taken is None:
                await session.rollback()  # another replica did this one
                return False
            if job.type == WRITER_PUBLISHED and taken.disqualified_at is not None:
                notices = []
            recipients = await store.record(session, notices)
            await session.commit()
        await self._wakeups.notify(recipients)
        return True

    async def _followers_told(
        self, job: FanoutJob, data: BaseModel, subscribers: set[uuid.UUID]
    ) -> tuple[BaseModel, list[uuid.UUID]]:
        """The notice with the writer's name, and the writer's followers who are not
        the competition's subscribers (those hear of the entry there)."""
        assert job.author_id is not None
        followers = await self._users.followers(job.author_id)
        users = [user for user in followers if user not in subscribers]
        if users:
            names = await self._users.known([job.author_id])
            data = data.model_copy(update={"actor_username": names.get(job.author_id)})
        return data, users


# Deletes a job, saying when its entry (if any) was disqualified: one round trip.
_TAKE = (
    sa.delete(FanoutJob)
    .where(FanoutJob.id == sa.bindparam("job_id"))
    .returning(
        FanoutJob.id,
        sa.select(Submission.disqualified_at)
        .where(Submission.id == FanoutJob.submission_id)
        .correlate(FanoutJob)
        .scalar_subquery()
        .label("disqualified_at"),
    )
)
