"""The moderation outbox, against real databases and a real competitions gRPC server:
a suspension's row waits while competitions cannot be reached and is recorded once it
can; a row sent again is recorded once; a row competitions refuses waits, the others go.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from litcomp.competitions.grpc import Competitions
from litcomp.competitions.models import ModerationAction as AuditRow
from litcomp.kit.auth import Principal
from litcomp.kit.balancer import Instance, RoundRobin
from litcomp.kit.db import create_sessionmaker
from litcomp.kit.errors import Invalid
from litcomp.kit.grpc import Client, start_server
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.times import utcnow
from litcomp.users import service
from litcomp.users.competitions_client import CompetitionsClient, ModerationAction
from litcomp.users.models import ModerationOutbox, User
from litcomp.users.outbox import OutboxWorker
from litcomp.v1.competitions_pb2_grpc import CompetitionsStub, add_CompetitionsServicer_to_server
from tests.support import free_port

Sessions = async_sessionmaker[AsyncSession]
ADMIN = Principal(uuid.uuid4(), "admin")


@pytest.fixture
async def users_sessions(users_engine: AsyncEngine) -> AsyncIterator[Sessions]:
    sessions = create_sessionmaker(users_engine)
    yield sessions
    async with sessions() as session:  # what a test left for the next one's worker
        await session.execute(sa.delete(ModerationOutbox))
        await session.commit()


async def _user(sessions: Sessions) -> uuid.UUID:
    name = f"u{uuid.uuid4().hex[:12]}"
    async with sessions() as session:
        user = User(
            username=name,
            email=f"{name}@example.com",
            username_key=name,
            email_key=f"{name}@example.com",
            password_hash="-",
        )
        session.add(user)
        await session.commit()
        return user.id


async def _outbox(sessions: Sessions, user_id: uuid.UUID) -> list[ModerationOutbox]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(ModerationOutbox)
            .where(ModerationOutbox.target_id == user_id)
            .order_by(ModerationOutbox.created_at)
        )
        return list(rows)


async def _audit(sessions: Sessions, user_id: uuid.UUID) -> list[AuditRow]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(AuditRow).where(AuditRow.target_id == user_id).order_by(AuditRow.created_at)
        )
        return list(rows)


async def test_a_suspension_waits_for_competitions_and_is_recorded_once(
    users_sessions: Sessions, competitions_sessions: Sessions
) -> None:
    writer = await _user(users_sessions)
    async with users_sessions() as session:
        assert (await service.suspend(session=session, actor=ADMIN, user_id=writer, reason="a"))[1]
    async with users_sessions() as session:  # a replay changes and records nothing
        assert not (
            await service.suspend(session=session, actor=ADMIN, user_id=writer, reason="a")
        )[1]
    async with users_sessions() as session:
        assert (await service.lift_suspension(session=session, actor=ADMIN, user_id=writer))[1]
    async with users_sessions() as session:
        assert not (await service.lift_suspension(session=session, actor=ADMIN, user_id=writer))[1]
    waiting = await _outbox(users_sessions, writer)
    assert [(r.action, r.actor_id, r.reason) for r in waiting] == [
        ("suspend_user", ADMIN.user_id, "a"),
        ("lift_suspension", ADMIN.user_id, ""),
    ]

    # Competitions is down (nobody answers at its address): the rows stay.
    instances = InstanceTable(
        caller="test", service="competitions", balancer=RoundRobin(), forget_after=0
    )
    client = Client(stub=CompetitionsStub, instances=instances, timeout=2)
    down = Instance("competitions", "down", "127.0.0.1", 0, grpc_port=free_port())
    await client.update("competitions", [down])
    worker = OutboxWorker(users_sessions, CompetitionsClient(client), poll_seconds=60)
    assert await worker.work() == 0
    assert [r.id for r in await _outbox(users_sessions, writer)] == [r.id for r in waiting]

    server, port = await start_server(
        service="competitions",
        registrations=[(add_CompetitionsServicer_to_server, Competitions(competitions_sessions))],
        host="127.0.0.1",
        port=0,
    )
    try:
        up = Instance("competitions", "up", "127.0.0.1", 0, grpc_port=port)
        await client.update("competitions", [up])
        assert await worker.work() == 2
        assert await _outbox(users_sessions, writer) == []
        recorded = await _audit(competitions_sessions, writer)
        assert [
            (r.id, r.action, r.actor_id, r.target_type, r.competition_id, r.reason, r.created_at)
            for r in recorded
        ] == [(w.id, w.action, w.actor_id, "user", None, w.reason, w.created_at) for w in waiting]

        # The answer was lost (or this replica died before deleting): sent again, the
        # rows are recorded once.
        async with users_sessions() as session:
            for row in waiting:
                session.add(
                    ModerationOutbox(
                        id=row.id,
                        action=row.action,
                        actor_id=row.actor_id,
                        target_id=row.target_id,
                        reason=row.reason,
                        created_at=row.created_at,
                    )
                )
            await session.commit()
        assert await worker.work() == 2
        assert await _outbox(users_sessions, writer) == []
        assert [r.id for r in await _audit(competitions_sessions, writer)] == [
            r.id for r in waiting
        ]
    finally:
        await client.close()
        await server.stop(None)


class Refusing:
    """Competitions refusing any call that carries one poisoned action."""

    def __init__(self, poisoned: uuid.UUID) -> None:
        self.poisoned = poisoned
        self.recorded: list[uuid.UUID] = []

    async def record_moderation_actions(self, actions: Sequence[ModerationAction]) -> int:
        if any(a.action_id == self.poisoned for a in actions):
            raise Invalid("not this one")
        self.recorded.extend(a.action_id for a in actions)
        return len(actions)


async def test_a_refused_row_waits_and_the_others_go(users_sessions: Sessions) -> None:
    writers = [await _user(users_sessions) for _ in range(3)]
    for writer in writers:
        async with users_sessions() as session:
            await service.suspend(session=session, actor=ADMIN, user_id=writer, reason="spam")
    [poisoned] = await _outbox(users_sessions, writers[1])
    competitions = Refusing(poisoned.id)
    worker = OutboxWorker(users_sessions, cast(CompetitionsClient, competitions), poll_seconds=60)
    await worker.work()
    assert len(competitions.recorded) == 2 and poisoned.id not in competitions.recorded
    [waiting] = await _outbox(users_sessions, writers[1])
    assert await _outbox(users_sessions, writers[0]) == []
    assert await _outbox(users_sessions, writers[2]) == []
    assert waiting.attempts == 1
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > utcnow() + timedelta(seconds=1)
    assert await worker.work() == 0  # not due yet: nothing is sent
    assert len(competitions.recorded) == 2
