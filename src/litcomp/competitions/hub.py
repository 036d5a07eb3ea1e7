"""The notification sockets this replica holds, and how they are kept up to date.

Every socket has a cursor: the number of the last notice it was sent. Delivery is
one operation, ``catch_up``: read each affected user's notices above their sockets'
cursors, queue them on the sockets, advance the cursors. Resuming (``?after=n``), a
wake-up from another replica and a poll are all that same operation, so none of
them can skip or repeat a notice: the cursor check and advance happen with no await
in between, and notices per user arrive in number order.

A socket's queue is bounded: a client too slow to keep up is closed (1013, "try
again later") and resumes from its last id; it never holds the others back.
"""

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import notifications
from litcomp.kit import metrics
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
TRY_AGAIN_LATER = 1013


class Connection:
    """One client socket: who it is, what it was sent last, what waits to be sent."""

    def __init__(self, user_id: uuid.UUID, cursor: int) -> None:
        self.user_id = user_id
        self.cursor = cursor
        self.outbox: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = asyncio.Event()

    def offer(self, text: str) -> bool:
        """Queue a message; False (and ``overflowed`` set) if the client is too far behind."""
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed.set()
            return False
        return True


class Hub:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._by_user: dict[uuid.UUID, set[Connection]] = defaultdict(set)

    def sessions(self) -> AsyncSession:
        return self._sessionmaker()

    def add(self, connection: Connection) -> None:
        self._by_user[connection.user_id].add(connection)
        metrics.WEBSOCKETS.inc()

    def remove(self, connection: Connection) -> None:
        held = self._by_user.get(connection.user_id)
        if held is not None and connection in held:
            held.discard(connection)
            metrics.WEBSOCKETS.dec()
            if not held:
                del self._by_user[connection.user_id]

    @property
    def users(self) -> list[uuid.UUID]:
        return list(self._by_user)

    async def catch_up(self, users: Iterable[uuid.UUID] | None = None) -> None:
        """Deliver what the sockets of ``users`` (default: all) have not been sent yet."""
        wanted = self.users if users is None else [u for u in set(users) if u in self._by_user]
        cursors = [
            (user, min(c.cursor for c in self._by_user[user]))
            for user in wanted
            if self._by_user.get(user)
        ]
        if not cursors:
            return
        async with self._sessionmaker() as session:
            found = await notifications.after(session, cursors)
        for notice in found:
            text: str | None = None
            for connection in self._by_user.get(notice.user_id, ()):
                if notice.seq <= connection.cursor:
                    continue
                text = text or json.dumps(notifications.message(notice))
                if connection.offer(text):
                    connection.cursor = notice.seq
                    metrics.NOTIFICATION_LAG.observe(
                        max(0.0, (utcnow() - notice.created_at).total_seconds())
                    )
