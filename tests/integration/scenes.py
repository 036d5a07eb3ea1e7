"""Competitions made straight through the service, for the integration tests."""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.kit.auth import Principal
from litcomp.kit.times import utcnow

Sessions = async_sessionmaker[AsyncSession]


async def open_competition(sessions: Sessions, title: str, **fields: object) -> uuid.UUID:
    """A competition that opened an hour ago and ends in an hour, unless ``fields`` say
    otherwise; made by an admin of its own."""
    admin = Principal(user_id=uuid.uuid4(), role="admin")
    async with sessions() as session:
        competition = await service.create_competition(
            session=session,
            admin=admin,
            fields={
                "title": title,
                "description": "",
                "start_date": utcnow() - timedelta(hours=1),
                "end_date": utcnow() + timedelta(hours=1),
                **fields,
            },
        )
    return competition.id
