"""The fan-out worker against both databases: due jobs read in one statement, each taken
once with its entry's disqualification in the same statement, each competition's
subscribers asked once per batch."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.competitions.app import MIGRATIONS
from litcomp.competitions.models import FanoutJob, Notification, Submission
from litcomp.competitions.notifications.fanout import FanoutWorker
from litcomp.competitions.notifications.store import Recorded
from litcomp.competitions.notifications.wakeups import Wakeups as RealWakeups
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.auth import Principal
from litcomp.kit.db import create_engine, create_sessionmaker, migrate
from litcomp.kit.times import utcnow
from tests.integration.scenes import open_competition
from tests.support import asyncpg_url

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["postgresql", "sqlite"])
async def databases(
    request: pytest.FixtureRequest, make_database: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Writing and reading sessions of a database of this test's own (the worker does
    every job it finds)."""
    if request.param == "postgresql":
        url = asyncpg_url(make_database("it_fanout"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/competitions.db"
    engine = create_engine(url)
    await migrate(engine, MIGRATIONS)
    yield create_sessionmaker(engine), create_sessionmaker(engine, read_only=True)
    await engine.dispose()


class Users:
    """The users service, as the worker asks it."""

    def __init__(self, subscribers: list[uuid.UUID], followers: list[uuid.UUID]) -> None:
        self._subscribers = subscribers
        self._followers = followers
        self.asked_for_subscribers = 0

    async def subscribers(self, competition_id: uuid.UUID) -> list[uuid.UUID]:
        self.asked_for_subscribers += 1
        return list(self._subscribers)

    async def followers(self, writer_id: uuid.UUID) -> list[uuid.UUID]:
        return list(self._followers)

    async def known(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {user: "writer" for user in user_ids}


class Wakeups:
    def __init__(self) -> None:
        self.told: list[Recorded] = []

    async def notify(self, recorded: Sequence[Recorded]) -> None:
        self.told.extend(recorded)


def _worker(databases: tuple[Sessions, Sessions], users: Users, wakeups: Wakeups) -> FanoutWorker:
    """The worker, asking ``users`` in place of the users service (only their answers
    matter here) and telling ``wakeups`` what it recorded."""
    sessions, read_sessions = databases
    return FanoutWorker(
        sessions,
        read_sessions,
        cast(UsersClient, users),
        cast(RealWakeups, wakeups),
        poll_seconds=60,
    )


async def _enter(sessions: Sessions, writers: int) -> list[uuid.UUID]:
    """An open competition (not anonymous: each entry leaves two jobs) and an entry of
    each of ``writers`` writers."""
    competition_id = await open_competition(sessions, "Fan-out")
    entries = []
    for _ in range(writers):
        async with sessions() as session:
            entry = await service.submit(
                session=session,
                actor=Principal(user_id=uuid.uuid4(), role="user", username="writer"),
                competition_id=competition_id,
                title="t",
                content="c",
            )
        entries.append(entry)
    return entries


async def _told(sessions: Sessions, user: uuid.UUID) -> list[tuple[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(Notification.type, Notification.data)
            .where(Notification.user_id == user)
            .order_by(Notification.seq)
        )
        return [(kind, data["submission_id"]) for kind, data in rows]


async def test_a_batch_tells_subscribers_and_followers_once_each(
    databases: tuple[Sessions, Sessions],
):
    sessions, _ = databases
    subscriber, follower = uuid.uuid4(), uuid.uuid4()
    users = Users(subscribers=[subscriber], followers=[follower, subscriber])
    wakeups = Wakeups()
    worker = _worker(databases, users, wakeups)
    entries = await _enter(sessions, writers=3)

    assert await worker.work_batch() is False  # all six jobs were due: one batch
    assert users.asked_for_subscribers == 1
    created = [("submission.created", str(entry)) for entry in entries]
    published = [("writer.published", str(entry)) for entry in entries]
    assert await _told(sessions, subscriber) == created  # not also as a follower
    assert await _told(sessions, follower) == published
    assert len(wakeups.told) == 6
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(FanoutJob)) == 0


async def test_a_disqualified_entry_is_told_to_no_follower(databases: tuple[Sessions, Sessions]):
    sessions, _ = databases
    subscriber, follower = uuid.uuid4(), uuid.uuid4()
    users = Users(subscribers=[subscriber], followers=[follower])
    worker = _worker(databases, users, Wakeups())
    kept, copied = await _enter(sessions, writers=2)
    async with sessions() as session:
        await session.execute(
            sa.update(Submission).where(Submission.id == copied).values(disqualified_at=utcnow())
        )
        await session.commit()

    await worker.work()
    assert await _told(sessions, follower) == [("writer.published", str(kept))]
    told = await _told(sessions, subscriber)
    assert told == [("submission.created", str(kept)), ("submission.created", str(copied))]
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(FanoutJob)) == 0


async def test_two_replicas_on_the_same_jobs_tell_each_subscriber_once(
    databases: tuple[Sessions, Sessions],
):
    sessions, _ = databases
    subscriber = uuid.uuid4()
    users = Users(subscribers=[subscriber], followers=[])
    entries = await _enter(sessions, writers=5)

    replicas = [_worker(databases, users, Wakeups()) for _ in range(2)]
    await asyncio.gather(*(replica.work() for replica in replicas))
    # Whatever the one that lost a race left to the other, the other did.
    assert await _told(sessions, subscriber) == [
        ("submission.created", str(entry)) for entry in entries
    ]
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(FanoutJob)) == 0
