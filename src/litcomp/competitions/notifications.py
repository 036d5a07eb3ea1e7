"""Notifications: recorded with the action that causes them, read back by sequence.

Each user's notices are numbered 1, 2, 3, ... (``seq``, the id clients see) from a
per-user counter. Taking the next number locks that user's counter row until the
transaction ends, so a user's notices commit in the order of their numbers: when
notice n is visible, every notice before it is too. That is what makes "send me
everything after n" exact, with no gaps and no repeats, on any replica.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.competitions.models import Notification, NotificationCounter
from litcomp.kit.db import upsert
from litcomp.kit.times import utcnow

BATCH = 1000
# Users per catch-up query: each adds an OR term, and SQLite refuses expressions
# nested deeper than 1000.
CURSORS_PER_QUERY = 400

SUBMISSION_CREATED = "submission.created"
SUBMISSION_LIKED = "submission.liked"
COMMENT_CREATED = "comment.created"
COMMENT_REPLIED = "comment.replied"
COMPETITION_PLACED = "competition.placed"


@dataclass(frozen=True)
class Notice:
    user_id: uuid.UUID
    type: str
    data: dict[str, Any]


def message(notification: Notification | sa.Row[Any]) -> dict[str, Any]:
    """The JSON a client receives, over the WebSocket and from GET /notifications."""
    created_at: datetime = notification.created_at
    return {
        "id": notification.seq,
        "type": notification.type,
        "data": notification.data,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
    }


async def record(session: AsyncSession, notices: Iterable[Notice]) -> list[uuid.UUID]:
    """Add the notices to the session's transaction; returns who gets one.

    Counters are taken in user-id order, so two transactions notifying overlapping
    sets of users always lock in the same order and cannot deadlock.
    """
    ordered = sorted(notices, key=lambda notice: notice.user_id)
    by_user = {user: list(group) for user, group in groupby(ordered, lambda n: n.user_id)}
    users = list(by_user)
    now = utcnow()
    for start in range(0, len(users), BATCH):
        chunk = users[start : start + BATCH]
        last = await _take_numbers(session, {user: len(by_user[user]) for user in chunk})
        rows = [
            {
                "user_id": user,
                "seq": last[user] - len(by_user[user]) + offset,
                "type": notice.type,
                "data": notice.data,
                "created_at": now,
            }
            for user in chunk
            for offset, notice in enumerate(by_user[user], start=1)
        ]
        await session.execute(sa.insert(Notification), rows)
    return users


async def _take_numbers(
    session: AsyncSession, counts: dict[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """Advance each user's counter by their count; returns the new last numbers."""
    insert = upsert(session, NotificationCounter)
    statement = (
        insert.values([{"user_id": user, "last_seq": n} for user, n in counts.items()])
        .on_conflict_do_update(
            index_elements=[NotificationCounter.user_id],
            set_={"last_seq": NotificationCounter.last_seq + insert.excluded.last_seq},
        )
        .returning(NotificationCounter.user_id, NotificationCounter.last_seq)
    )
    return {user: last for user, last in await session.execute(statement)}


async def latest(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The number of the user's newest notice (0 if none)."""
    last = await session.scalar(
        sa.select(NotificationCounter.last_seq).where(NotificationCounter.user_id == user_id)
    )
    return int(last or 0)


async def after(
    session: AsyncSession, cursors: Sequence[tuple[uuid.UUID, int]], limit: int | None = None
) -> list[Notification]:
    """Each user's notices numbered above their cursor, by user then number."""
    found: list[Notification] = []
    for start in range(0, len(cursors), CURSORS_PER_QUERY):
        chunk = cursors[start : start + CURSORS_PER_QUERY]
        query = (
            sa.select(Notification)
            .where(
                sa.or_(
                    *(
                        sa.and_(Notification.user_id == user, Notification.seq > seq)
                        for user, seq in chunk
                    )
                )
            )
            .order_by(Notification.user_id, Notification.seq)
        )
        found.extend(await session.scalars(query.limit(limit) if limit else query))
    return found


async def listing(
    session: AsyncSession, *, user_id: uuid.UUID, after_seq: int | None, limit: int
) -> tuple[list[Notification], int]:
    """A page of the user's notices, oldest first, and how many are unread.

    From ``after_seq`` when given; otherwise the newest ``limit``.
    """
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if after_seq is not None:
        page = list(
            await session.scalars(
                query.where(Notification.seq > after_seq).order_by(Notification.seq).limit(limit)
            )
        )
    else:
        newest = await session.scalars(query.order_by(Notification.seq.desc()).limit(limit))
        page = list(newest)[::-1]
    unread = await session.scalar(
        sa.select(sa.func.count()).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    )
    return page, int(unread or 0)


async def mark_read(
    session: AsyncSession, *, user_id: uuid.UUID, ids: Sequence[int], up_to: int | None
) -> int:
    """Mark the given notices (and all up to ``up_to``) read; returns how many changed."""
    selected: list[sa.ColumnElement[bool]] = [Notification.seq.in_(ids)] if ids else []
    if up_to is not None:
        selected.append(Notification.seq <= up_to)
    if not selected:
        return 0
    result = await session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            sa.or_(*selected),
        )
        .values(read_at=utcnow())
    )
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
