"""The socket hub against a real database: exact catch-up, and slow clients cut loose."""

import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import notifications
from litcomp.competitions.hub import QUEUE_LIMIT, Connection, Hub
from litcomp.competitions.notifications import Notice

Sessions = async_sessionmaker[AsyncSession]


async def _notify(sessions: Sessions, user: uuid.UUID, count: int) -> None:
    async with sessions() as session:
        await notifications.record(
            session, [Notice(user, "comment.created", {"n": n}) for n in range(count)]
        )
        await session.commit()


async def test_catch_up_sends_each_notice_once_in_order(competitions_sessions: Sessions):
    user = uuid.uuid4()
    hub = Hub(competitions_sessions)
    first, second = Connection(user, cursor=0), Connection(user, cursor=2)
    hub.add(first)
    hub.add(second)
    await _notify(competitions_sessions, user, 3)
    await hub.catch_up([user])
    await hub.catch_up([user])  # a second wake-up finds nothing new
    await _notify(competitions_sessions, user, 1)
    await hub.catch_up()
    sent = [json.loads(first.outbox.get_nowait())["id"] for _ in range(first.outbox.qsize())]
    assert sent == [1, 2, 3, 4]
    assert [json.loads(second.outbox.get_nowait())["id"] for _ in range(2)] == [3, 4]
    hub.remove(first)
    hub.remove(second)
    assert hub.users == []


async def test_a_client_too_far_behind_is_cut_loose_without_holding_others(
    competitions_sessions: Sessions,
):
    slow_user, fast_user = uuid.uuid4(), uuid.uuid4()
    hub = Hub(competitions_sessions)
    slow, fast = Connection(slow_user, 0), Connection(fast_user, 0)
    hub.add(slow)
    hub.add(fast)
    await _notify(competitions_sessions, slow_user, QUEUE_LIMIT + 5)
    await _notify(competitions_sessions, fast_user, 1)
    await hub.catch_up()
    assert slow.overflowed.is_set()
    assert slow.cursor == QUEUE_LIMIT  # resume from here picks up the rest
    assert not fast.overflowed.is_set()
    assert fast.outbox.qsize() == 1
    hub.remove(slow)
    hub.remove(fast)
