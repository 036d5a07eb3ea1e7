"""Notifications: recorded with the action that causes them, read back by sequence.

Each user's notices are numbered 1, 2, 3, ... (``seq``, the id clients see) from a
per-user counter. Taking the next number locks that user's counter row until the
transaction ends, so a user's notices commit in the order of their numbers: when
notice n is visible, every notice before it is too. That is what makes "send me
everything after n" exact, with no gaps and no repeats, on any replica.

``record`` returns what it wrote, messages included, so the replica that commits
delivers to its own sockets without reading the rows back. On PostgreSQL the writes
and the catch-up reads are set-based (one statement joining ``unnest`` arrays of
users and numbers, whatever their count: ``record`` takes the numbers and writes the
rows in one round trip); SQLite, the embedded default, takes the same data in batches
of plain statements. Why two ways: SQLite has no arrays and no ``unnest``, and what
SQLAlchemy can say portably (a multi-row VALUES, an OR per cursor) is a statement that
grows with the number of users, which SQLite caps (hence the batches) and which would
make PostgreSQL parse and plan a new, larger statement for every fan-out size, where
the ``unnest`` form is one fixed statement.
"""

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, Generic

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.competitions.models import Notification, NotificationCounter
from litcomp.competitions.notifications.schemas import Data, Message, type_name
from litcomp.kit.db import UTCDateTime, run, upsert
from litcomp.kit.times import iso, utcnow

BATCH = 1000
# Users per catch-up query: each adds an OR term, and SQLite refuses expressions
# nested deeper than 1000.
CURSORS_PER_QUERY = 400


@dataclass(frozen=True)
class Notice(Generic[Data]):
    """A notice to record: for whom, its message model (its type), and what it says."""

    user_id: uuid.UUID
    kind: type[Message[Data]]
    data: Data


@dataclass(frozen=True, slots=True)
class Recorded:
    """A notice as written: whose it is, its number, and the WebSocket message."""

    user_id: uuid.UUID
    seq: int
    text: str
    created_at: datetime


def message(notification: Notification | sa.Row[Any]) -> dict[str, Any]:
    """The JSON a client receives, over the WebSocket and from GET /notifications."""
    return {
        "id": notification.seq,
        **_body(notification.type, notification.data, notification.created_at),
    }


def message_text(notification: Notification | sa.Row[Any]) -> str:
    return json.dumps(message(notification))


def _body(type_: str, data: dict[str, Any], created_at: datetime) -> dict[str, Any]:
    return {
        "type": type_,
        "data": data,
        "created_at": iso(created_at),
    }


class _Texts:
    """JSON for notices written together. Notices that share one ``data`` model (every
    subscriber's notice of an entry) are serialised once, for the rows and for the
    messages (their ids spliced in): for 10,000 subscribers that is two ``json.dumps``
    instead of 20,000. The notices, and so their models, outlive this."""

    def __init__(self, created_at: datetime) -> None:
        self.created_at = created_at
        self._tails: dict[tuple[str, int], str] = {}
        self._data: dict[int, dict[str, Any]] = {}
        self._texts: dict[int, str] = {}

    def text(self, seq: int, notice: Notice[Any]) -> str:
        """The WebSocket message."""
        key = (type_name(notice.kind), id(notice.data))
        tail = self._tails.get(key)
        if tail is None:
            tail = json.dumps(_body(key[0], self.data(notice), self.created_at))[1:]
            self._tails[key] = tail
        return f'{{"id": {seq}, {tail}'

    def data(self, notice: Notice[Any]) -> dict[str, Any]:
        """The row's ``data``, as JSON values."""
        data = self._data.get(id(notice.data))
        if data is None:
            data = self._data[id(notice.data)] = notice.data.model_dump(mode="json")
        return data

    def data_text(self, notice: Notice[Any]) -> str:
        """The row's ``data`` column, as JSON text."""
        text = self._texts.get(id(notice.data))
        if text is None:
            text = self._texts[id(notice.data)] = json.dumps(self.data(notice))
        return text


async def record(session: AsyncSession, notices: Iterable[Notice[Any]]) -> list[Recorded]:
    """Add the notices to the session's transaction; returns them as written.

    Counters are taken in user-id order, so two transactions notifying overlapping
    sets of users always lock in the same order and cannot deadlock.
    """
    ordered = sorted(notices, key=lambda notice: notice.user_id)
    by_user = {user: list(group) for user, group in groupby(ordered, lambda n: n.user_id)}
    users = list(by_user)
    texts = _Texts(utcnow())
    postgres = _is_postgres(session)
    batch = len(users) if postgres else BATCH
    recorded: list[Recorded] = []
    for start in range(0, len(users), batch or 1):
        chunk = {user: by_user[user] for user in users[start : start + batch]}
        if postgres:
            last = await _write_unnest(session, chunk, texts)
        else:
            last = await _take_numbers(session, {user: len(chunk[user]) for user in chunk})
        written = [
            (user, last[user] - len(notices) + offset, notice)
            for user, notices in chunk.items()
            for offset, notice in enumerate(notices, start=1)
        ]
        if not postgres:
            await _insert(session, written, texts)
        recorded.extend(
            Recorded(user, seq, texts.text(seq, notice), texts.created_at)
            for user, seq, notice in written
        )
    return recorded


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _insert(
    session: AsyncSession, written: list[tuple[uuid.UUID, int, Notice[Any]]], texts: _Texts
) -> None:
    rows = [
        {
            "user_id": u,
            "seq": seq,
            "type": type_name(n.kind),
            "data": texts.data(n),
            "created_at": texts.created_at,
        }
        for u, seq, n in written
    ]
    await session.execute(sa.insert(Notification), rows)


# Advances the counters and writes the rows: each notice's number is its user's new
# last number less ``back``, how many of that user's notices come after it. Rows come
# out of unnest in array order, so counters lock in user-id order here too. The
# INSERT in ``written`` runs to completion although the answer does not read it.
_WRITE_UNNEST = sa.text(
    "WITH counters AS ("
    " INSERT INTO notification_counters (user_id, last_seq)"
    " SELECT * FROM unnest(CAST(:users AS uuid[]), CAST(:counts AS bigint[]))"
    " ON CONFLICT (user_id) DO UPDATE"
    " SET last_seq = notification_counters.last_seq + excluded.last_seq"
    " RETURNING user_id, last_seq"
    "), written AS ("
    " INSERT INTO notifications (user_id, seq, type, data, created_at)"
    " SELECT n.user_id, counters.last_seq - n.back, n.type, n.data, :created_at"
    " FROM unnest(CAST(:notice_users AS uuid[]), CAST(:backs AS bigint[]),"
    " CAST(:types AS varchar[]), CAST(:data AS json[])) AS n(user_id, back, type, data)"
    " JOIN counters ON counters.user_id = n.user_id"
    ")"
    " SELECT user_id, last_seq FROM counters"
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))


async def _write_unnest(
    session: AsyncSession, by_user: dict[uuid.UUID, list[Notice[Any]]], texts: _Texts
) -> dict[uuid.UUID, int]:
    """Take each user's numbers and write their notices, in one statement; returns
    the users' new last numbers."""
    notices = [
        (user, back, notice)
        for user, told in by_user.items()
        for back, notice in enumerate(reversed(told))
    ]
    result = await run(
        session,
        _WRITE_UNNEST,
        {
            "users": list(by_user),
            "counts": [len(told) for told in by_user.values()],
            "notice_users": [user for user, _, _ in notices],
            "backs": [back for _, back, _ in notices],
            "types": [type_name(notice.kind) for _, _, notice in notices],
            "data": [texts.data_text(notice) for _, _, notice in notices],
            "created_at": texts.created_at,
        },
    )
    return {user: last for user, last in result}


async def _take_numbers(
    session: AsyncSession, counts: dict[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """Advance each user's counter by their count; returns the new last numbers (SQLite)."""
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


_COLUMNS = (
    Notification.user_id,
    Notification.seq,
    Notification.type,
    Notification.data,
    Notification.created_at,
)


def _unnest(cursors: Sequence[tuple[uuid.UUID, int]]) -> sa.TableValuedAlias:
    """The cursors as a PostgreSQL table ``(user_id, number)``: one statement for any count."""
    users = sa.bindparam("users", [u for u, _ in cursors], type_=postgresql.ARRAY(sa.Uuid()))
    numbers = sa.bindparam(
        "numbers", [n for _, n in cursors], type_=postgresql.ARRAY(sa.BigInteger())
    )
    return sa.func.unnest(users, numbers).table_valued("user_id", "number").render_derived()


def _chunks(
    cursors: Sequence[tuple[uuid.UUID, int]],
) -> Iterable[Sequence[tuple[uuid.UUID, int]]]:
    return (cursors[i : i + CURSORS_PER_QUERY] for i in range(0, len(cursors), CURSORS_PER_QUERY))


async def after(
    session: AsyncSession, cursors: Sequence[tuple[uuid.UUID, int]]
) -> list[sa.Row[Any]]:
    """Each user's notices numbered above their cursor, by user then number."""
    order = (Notification.user_id, Notification.seq)
    if _is_postgres(session):
        pairs = _unnest(cursors)
        joined = sa.and_(Notification.user_id == pairs.c.user_id, Notification.seq > pairs.c.number)
        return list(
            await session.execute(sa.select(*_COLUMNS).join(pairs, joined).order_by(*order))
        )
    found: list[sa.Row[Any]] = []
    for chunk in _chunks(cursors):
        above = sa.or_(
            *(sa.and_(Notification.user_id == u, Notification.seq > n) for u, n in chunk)
        )
        found.extend(await session.execute(sa.select(*_COLUMNS).where(above).order_by(*order)))
    return found


async def behind(
    session: AsyncSession, cursors: Sequence[tuple[uuid.UUID, int]]
) -> list[uuid.UUID]:
    """The users who have notices numbered above their cursor (a look at the counters only)."""
    if _is_postgres(session):
        pairs = _unnest(cursors)
        joined = sa.and_(
            NotificationCounter.user_id == pairs.c.user_id,
            NotificationCounter.last_seq > pairs.c.number,
        )
        return list(
            await session.scalars(sa.select(NotificationCounter.user_id).join(pairs, joined))
        )
    found: list[uuid.UUID] = []
    for chunk in _chunks(cursors):
        cursor_of = dict(chunk)
        counters = await session.execute(
            sa.select(NotificationCounter.user_id, NotificationCounter.last_seq).where(
                NotificationCounter.user_id.in_(cursor_of)
            )
        )
        found.extend(user for user, last in counters if last > cursor_of[user])
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
