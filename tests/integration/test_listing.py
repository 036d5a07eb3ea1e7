"""The competitions list's statements, built once and run with ``now`` and ``tag`` as
parameters, on PostgreSQL and SQLite: each status's competitions in its order, and the
tag filter in each database's own JSON SQL."""

import uuid
from datetime import datetime, timedelta

import pytest

from litcomp.competitions import service
from litcomp.competitions.models import Competition
from litcomp.kit.times import utcnow
from tests.integration.conftest import Sessions

DAY = timedelta(days=1)


async def _phases(sessions: Sessions, tag: str) -> dict[str, uuid.UUID]:
    """One competition tagged ``tag`` in each phase, and one open but tagged otherwise."""
    now = utcnow()
    starts: dict[str, tuple[datetime, datetime, datetime | None]] = {
        "upcoming": (now + DAY, now + 2 * DAY, None),
        "open": (now - DAY, now + DAY, None),
        "voting": (now - 2 * DAY, now - DAY, now + DAY),
        "finished": (now - 3 * DAY, now - 2 * DAY, None),
        "untagged": (now - DAY, now + DAY, None),
    }
    made = {
        phase: Competition(
            title=phase,
            admin_id=uuid.uuid4(),
            start_date=start,
            end_date=end,
            voting_end_date=voting,
            tags=["elsewhere" if phase == "untagged" else tag],
        )
        for phase, (start, end, voting) in starts.items()
    }
    async with sessions() as session:
        session.add_all(made.values())
        await session.commit()
    return {phase: competition.id for phase, competition in made.items()}


@pytest.mark.parametrize("status", ["active", "open", "upcoming", "voting", "finished"])
async def test_each_status_lists_its_tagged_competitions(
    sessions: Sessions, status: service.StatusFilter
) -> None:
    tag = f"t{uuid.uuid4().hex[:10]}"
    made = await _phases(sessions, tag)
    phase = "open" if status == "active" else status
    async with sessions() as session:
        listed, total = await service.list_competitions(
            session=session, status=status, limit=10, tag=tag
        )
    assert [c.id for c in listed] == [made[phase]] and total == 1


async def test_all_lists_by_start_newest_first(sessions: Sessions) -> None:
    tag = f"t{uuid.uuid4().hex[:10]}"
    made = await _phases(sessions, tag)
    async with sessions() as session:
        listed, total = await service.list_competitions(
            session=session, status="all", limit=2, offset=1, tag=tag
        )
    assert [c.id for c in listed] == [made["open"], made["voting"]] and total == 4
