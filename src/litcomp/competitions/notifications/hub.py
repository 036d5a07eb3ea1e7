"""The notification sockets this replica holds, and how they are kept up to date.

Every socket has a cursor: the number of the last notice queued for it. A notice
numbered ``cursor + 1`` may be queued; anything else is either old (skipped) or
leaves a gap, which only a read from the database can fill. So:

- ``deliver`` hands over notices this replica has just committed, as written (no
  read back); a socket they would leave with a gap is caught up instead;
- ``catch_up`` reads each affected user's notices above their sockets' cursors. A
  resume (``?after=n``), a wake-up from another replica and a poll all use it.

Cursors are checked and advanced with no await in between, and a user's notices
commit in number order, so nothing is skipped or sent twice, whatever the path.

Queuing is the socket's own business (``Connection.send``, given by sockets.py): it
writes at once, without waiting, and refuses when the client has fallen too far
behind; such a client is cut loose and resumes from its last id, so it never holds
the others back.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.store import Recorded
from litcomp.kit import metrics
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)


class Connection:
    """One client socket: who it is, the number of the last notice handed to it, and
    ``send``: hand over a message now, False if the client is too far behind."""

    __slots__ = ("cursor", "send", "user_id")

    def __init__(self, user_id: uuid.UUID, cursor: int, send: Callable[[str], bool]) -> None:
        self.user_id = user_id
        self.cursor = cursor
        self.send = send


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

    def held(self, user_id: uuid.UUID) -> list[Connection]:
        """The user's connections on this replica."""
        return list(self._by_user.get(user_id, ()))

    @property
    def users(self) -> list[uuid.UUID]:
        return list(self._by_user)

    def deliver(self, recorded: Iterable[Recorded]) -> set[uuid.UUID]:
        """Queue notices just committed here; returns the users left with a gap
        (a notice committed elsewhere and not yet caught up), for ``catch_up``."""
        gaps: set[uuid.UUID] = set()
        for notice in recorded:
            for connection in self._by_user.get(notice.user_id, ()):
                if connection.cursor == notice.seq - 1:
                    self._queue(connection, notice.seq, notice.text, notice.created_at)
                elif connection.cursor < notice.seq:
                    gaps.add(notice.user_id)
        return gaps

    async def catch_up(self, users: Iterable[uuid.UUID] | None = None) -> None:
        """Deliver what the sockets of ``users`` (default: all) have not been sent yet.

        Without ``users`` (a poll) the counters are asked first who has anything new,
        so a poll of thousands of idle sockets reads no notices at all."""
        wanted = self.users if users is None else [u for u in set(users) if u in self._by_user]
        cursors = [
            (user, min(c.cursor for c in self._by_user[user]))
            for user in wanted
            if self._by_user.get(user)
        ]
        if not cursors:
            return
        async with self._sessionmaker() as session:
            if users is None:
                late = set(await store.behind(session, cursors))
                cursors = [(user, cursor) for user, cursor in cursors if user in late]
            found = await store.after(session, cursors) if cursors else []
        for row in found:
            text: str | None = None
            for connection in self._by_user.get(row.user_id, ()):
                if connection.cursor < row.seq:
                    text = text or store.message_text(row)
                    self._queue(connection, row.seq, text, row.created_at)

    @staticmethod
    def _queue(connection: Connection, seq: int, text: str, created_at: datetime) -> None:
        if connection.send(text):
            connection.cursor = seq
            metrics.NOTIFICATION_LAG.observe(max(0.0, (utcnow() - created_at).total_seconds()))
