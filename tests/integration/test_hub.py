"""The socket hub against real databases: exact delivery and catch-up, slow clients cut loose.

PostgreSQL takes the set-based statements (unnest), SQLite the batched ones: both run
every test here.
"""

import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.hub import Connection, Hub
from litcomp.competitions.notifications.schemas import AboutEntry, SubmissionCreated
from litcomp.competitions.notifications.store import Notice, Recorded
from tests.support import notices

Sessions = async_sessionmaker[AsyncSession]


def _entry(title: str = "Haiku") -> AboutEntry:
    return AboutEntry(
        competition_id=uuid.uuid4(),
        competition_title="Spring",
        submission_id=uuid.uuid4(),
        submission_title=title,
        actor_id=uuid.uuid4(),
        actor_username="writer",
    )


async def _notify(sessions: Sessions, user: uuid.UUID, count: int) -> list[Recorded]:
    async with sessions() as session:
        recorded = await store.record(
            session, [Notice(user, SubmissionCreated, _entry(f"entry {n}")) for n in range(count)]
        )
        await session.commit()
    return recorded


class Socket(Connection):
    """A connection whose far end keeps what it received; past ``room`` messages it is
    too slow, and refuses more."""

    def __init__(self, user_id: uuid.UUID, cursor: int, room: int = 10_000) -> None:
        super().__init__(user_id, cursor, self._take)
        self.received: list[str] = []
        self.room = room

    def _take(self, text: str) -> bool:
        if len(self.received) >= self.room:
            return False
        notices.validate(json.loads(text))
        self.received.append(text)
        return True

    def ids(self) -> list[int]:
        return [json.loads(text)["id"] for text in self.received]


async def test_catch_up_sends_each_notice_once_in_order(sessions: Sessions):
    user = uuid.uuid4()
    hub = Hub(sessions)
    first, second = Socket(user, cursor=0), Socket(user, cursor=2)
    hub.add(first)
    hub.add(second)
    await _notify(sessions, user, 3)
    await hub.catch_up([user])
    await hub.catch_up([user])  # a second wake-up finds nothing new
    await _notify(sessions, user, 1)
    await hub.catch_up()
    assert first.ids() == [1, 2, 3, 4]
    assert second.ids() == [3, 4]
    hub.remove(first)
    hub.remove(second)
    assert hub.users == []


async def test_what_record_returns_is_what_catch_up_would_send(sessions: Sessions):
    user = uuid.uuid4()
    recorded = await _notify(sessions, user, 2)
    hub = Hub(sessions)
    connection = Socket(user, cursor=0)
    hub.add(connection)
    await hub.catch_up([user])
    assert [json.loads(n.text) for n in recorded] == [json.loads(t) for t in connection.received]
    assert [n.seq for n in recorded] == [1, 2]


async def test_deliver_queues_notices_as_written_without_reading_them(sessions: Sessions):
    user, other = uuid.uuid4(), uuid.uuid4()
    hub = Hub(sessions)
    current, ahead = Socket(user, cursor=0), Socket(user, cursor=1)
    hub.add(current)
    hub.add(ahead)
    recorded = await _notify(sessions, user, 2)
    recorded += await _notify(sessions, other, 1)  # nobody holds ``other`` here
    assert hub.deliver(recorded) == set()
    assert current.ids() == [1, 2]
    assert ahead.ids() == [2]  # it had 1 already
    assert hub.deliver(recorded) == set()  # a repeat sends nothing twice
    assert current.ids() == [1, 2]


async def test_deliver_reports_a_gap_that_only_catch_up_can_fill(sessions: Sessions):
    user = uuid.uuid4()
    hub = Hub(sessions)
    connection = Socket(user, cursor=0)
    hub.add(connection)
    await _notify(sessions, user, 1)  # committed "elsewhere": this hub was not told
    later = await _notify(sessions, user, 1)
    assert hub.deliver(later) == {user}
    assert connection.ids() == []  # nothing out of order
    await hub.catch_up({user})
    assert connection.ids() == [1, 2]


async def test_behind_names_only_users_with_something_new(sessions: Sessions):
    quiet, busy, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await _notify(sessions, quiet, 2)
    await _notify(sessions, busy, 3)
    async with sessions() as session:
        late = await store.behind(session, [(quiet, 2), (busy, 1), (unknown, 0)])
    assert late == [busy]


async def test_one_shared_message_is_written_for_many_users(sessions: Sessions):
    users = sorted(uuid.uuid4() for _ in range(1200))  # more than a SQLite batch
    data = _entry()
    async with sessions() as session:
        recorded = await store.record(
            session, [Notice(user, SubmissionCreated, data) for user in users]
        )
        await session.commit()
        stored = await store.after(session, [(user, 0) for user in users])
    assert [(n.user_id, n.seq) for n in recorded] == [(user, 1) for user in users]
    assert [(row.user_id, row.seq, row.data) for row in stored] == [
        (u, 1, data.model_dump(mode="json")) for u in users
    ]
    assert json.loads(recorded[0].text) == store.message(stored[0])


async def test_a_client_too_far_behind_is_cut_loose_without_holding_others(sessions: Sessions):
    slow_user, fast_user = uuid.uuid4(), uuid.uuid4()
    hub = Hub(sessions)
    slow, fast = Socket(slow_user, 0, room=3), Socket(fast_user, 0)
    hub.add(slow)
    hub.add(fast)
    await _notify(sessions, slow_user, 5)
    await _notify(sessions, fast_user, 1)
    await hub.catch_up()
    assert slow.ids() == [1, 2, 3]
    assert slow.cursor == 3  # what it got: a resume from here picks up the rest
    assert fast.ids() == [1]
    hub.remove(slow)
    hub.remove(fast)
