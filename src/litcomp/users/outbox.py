"""The moderation outbox worker: admins' acts on users reach the audit log.

The audit log (``GET /moderation/actions``) lives in the competitions database, which
this service cannot write. So a suspension, a changed reason or a lift leaves a row in
``moderation_outbox`` in its own transaction (``service.suspend``), and this worker,
on any replica, sends the rows that are due, oldest first, in batches, over
``RecordModerationActions``, then deletes those competitions acknowledged. No request
waits on competitions; nothing is lost: a row goes only once it is recorded.

- The row's id becomes the audit row's id, and competitions skips an id it has: a
  batch sent again (the answer was lost, this replica died before deleting, two
  replicas sent it at once) is recorded once.
- Competitions unreachable (``Unavailable``): the rows stay, the worker waits for the
  next poll or kick, blaming none (an outage, logged once as it starts and once as it
  ends).
- Competitions refusing a batch (a bug, a row it cannot take): each of its rows is
  sent alone, and a refused one waits 2, 4, 8, ... up to 300 s (``retry_delay``),
  behind the others, and is tried again: never dropped.
"""

import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.kit.background import Worker, retry_delay
from litcomp.kit.db import is_outage
from litcomp.kit.errors import AppError, Unavailable
from litcomp.kit.times import utcnow
from litcomp.users.competitions_client import CompetitionsClient, ModerationAction
from litcomp.users.models import ModerationOutbox

log = logging.getLogger(__name__)

BATCH = 100  # rows a call (RecordModerationActions takes up to 500)


class OutboxWorker(Worker):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        competitions: CompetitionsClient,
        *,
        poll_seconds: float,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self._sessionmaker = sessionmaker
        self._competitions = competitions
        self._waiting = False  # for competitions: logged as the outage starts and ends

    async def work(self) -> int:
        """Send what is due until nothing is, or competitions cannot be reached; how
        many rows were delivered. Never raises (but cancellation)."""
        delivered = 0
        try:
            while sent := await self.send_batch():
                delivered += sent
        except Unavailable as error:
            if not self._waiting:
                log.warning("moderation outbox waits for competitions: %s", error.message)
            self._waiting = True
            return delivered
        except Exception as error:
            if not is_outage(error):
                log.exception("moderation outbox failed; its rows stay and are sent later")
            return delivered
        if self._waiting:
            log.info("moderation outbox delivers again")
        self._waiting = False
        return delivered

    async def send_batch(self) -> int:
        """Send one batch of due rows and delete those recorded; how many rows were
        settled (delivered or put off), 0 when none is due. Raises ``Unavailable``
        when competitions cannot be reached."""
        async with self._sessionmaker() as session:
            due = sa.or_(
                ModerationOutbox.next_attempt_at.is_(None),
                ModerationOutbox.next_attempt_at <= utcnow(),
            )
            rows = list(
                await session.scalars(
                    sa.select(ModerationOutbox)
                    .where(due)
                    .order_by(ModerationOutbox.created_at, ModerationOutbox.id)
                    .limit(BATCH)
                )
            )
        if not rows:
            return 0
        try:
            await self._send(rows)
        except Unavailable:
            raise  # every row would fail alike: wait for competitions, blaming none
        except AppError:
            if len(rows) == 1:
                log.exception("competitions refused a moderation action; retried later")
                await self._postpone(rows[0])
                return 1
            for row in rows:  # find the one it refuses; the others go through
                try:
                    await self._send([row])
                except Unavailable:
                    raise
                except AppError:
                    log.exception("competitions refused a moderation action; retried later")
                    await self._postpone(row)
        return len(rows)

    async def _send(self, rows: list[ModerationOutbox]) -> None:
        await self._competitions.record_moderation_actions(
            [
                ModerationAction(
                    action_id=row.id,
                    action=row.action,
                    actor_id=row.actor_id,
                    user_id=row.target_id,
                    reason=row.reason,
                    created_at=row.created_at,
                )
                for row in rows
            ]
        )
        async with self._sessionmaker() as session:
            await session.execute(
                sa.delete(ModerationOutbox).where(ModerationOutbox.id.in_([r.id for r in rows]))
            )
            await session.commit()

    async def _postpone(self, row: ModerationOutbox) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                sa.update(ModerationOutbox)
                .where(ModerationOutbox.id == row.id)
                .values(
                    attempts=ModerationOutbox.attempts + 1,
                    next_attempt_at=utcnow() + retry_delay(row.attempts),
                )
            )
            await session.commit()
