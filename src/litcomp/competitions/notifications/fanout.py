"""The fan-out worker: tells a competition's subscribers of a new entry, or that an
anonymous competition has revealed its authors.

The entry's (or the finalizing) transaction leaves a job. A worker on any replica reads it, asks the
users service for the subscribers (outside any transaction: no lock or connection
is held during the remote calls), then in one short transaction deletes the job and
records one notice per subscriber. Only the transaction whose DELETE removed the job
goes on, so if two replicas work on the same job, one of them records it. If users
cannot be reached the job stays and is tried again; if a replica dies mid-way its
transaction rolls back and another replica does the job. Each subscriber hears once.
A job that fails for any other reason is tried again later (after 2, 4, 8, ... up to
300 s), and the jobs behind it go first.
"""

import logging
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.models import FanoutJob
from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import (
    AboutEntry,
    CompetitionRevealed,
    Message,
    Revealed,
    SubmissionCreated,
    type_name,
)
from litcomp.competitions.notifications.store import Notice
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.background import Worker, retry_delay
from litcomp.kit.db import is_outage
from litcomp.kit.errors import Unavailable
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)

# What a job announces, by its type: the message and the model of its data.
ANNOUNCEMENTS: dict[str, tuple[type[Message[Any]], type[BaseModel]]] = {
    type_name(SubmissionCreated): (SubmissionCreated, AboutEntry),
    type_name(CompetitionRevealed): (CompetitionRevealed, Revealed),
}


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
            while await self.work_one():
                pass
        except Unavailable as error:
            log.info("fan-out waits for the users service: %s", error.message)
        except Exception as error:
            if not is_outage(error):
                log.exception("fan-out failed; the job stays and is retried")

    async def work_one(self) -> bool:
        """Do one job that is due; False when there is none left."""
        async with self._read_sessionmaker() as session:
            due = sa.or_(FanoutJob.next_attempt_at.is_(None), FanoutJob.next_attempt_at <= utcnow())
            job = await session.scalar(
                sa.select(FanoutJob).where(due).order_by(FanoutJob.id).limit(1)
            )
        if job is None:
            return False
        try:
            await self._do(job)
        except Unavailable:
            raise  # every job would fail alike: wait for users, blaming none
        except Exception as error:
            if is_outage(error):
                raise
            log.exception("fan-out job failed; it is retried later", extra={"job": job.id})
            await self._postpone(job)
        return True

    async def _postpone(self, job: FanoutJob) -> None:
        delay = retry_delay(job.attempts)
        async with self._sessionmaker() as session:
            await session.execute(
                sa.update(FanoutJob)
                .where(FanoutJob.id == job.id)
                .values(attempts=FanoutJob.attempts + 1, next_attempt_at=utcnow() + delay)
            )
            await session.commit()

    async def _do(self, job: FanoutJob) -> None:
        kind, model = ANNOUNCEMENTS[job.type]
        data = model.model_validate(job.data)  # one for all: record() serialises it once
        subscribers = await self._users.subscribers(job.competition_id)
        notices = [Notice(user, kind, data) for user in subscribers if user != job.author_id]
        async with self._sessionmaker() as session:
            taken = await session.execute(
                sa.delete(FanoutJob).where(FanoutJob.id == job.id).returning(FanoutJob.id)
            )
            if taken.first() is None:
                await session.rollback()  # another replica did this one
                return
            recipients = await store.record(session, notices)
            await session.commit()
        await self._wakeups.notify(recipients)
