"""Idempotency keys: a POST repeated with the same ``Idempotency-Key`` creates nothing new.

The first request with a key records, in the same transaction as what it creates,
the key, a fingerprint of the request and the id of the created resource. A repeat
finds the record and answers about the same resource; a concurrent repeat collides
on the record's primary key at commit, rolls back everything it did, and then finds
the first one's record. The same key with a different request is refused.

Each service keeps the records in its own database (``idempotency_table``).
"""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.kit.db import UTCDateTime
from litcomp.kit.errors import Invalid
from litcomp.kit.times import utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def idempotency_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key, the scope it is unique in (a user id, or an action for anonymous
    requests), and the fingerprint of the request it came with."""

    key: str
    scope: str
    fingerprint: str

    @classmethod
    def of(
        cls, key: str | None, *, scope: str, action: str, request: Any
    ) -> "IdempotencyKey | None":
        """The key a request carries (None if it carries none); ``action`` and
        ``request`` (a JSON-able description of it) make its fingerprint."""
        if key is None:
            return None
        canonical = json.dumps([action, request], sort_keys=True, separators=(",", ":"))
        return cls(key, scope, hashlib.sha256(canonical.encode()).hexdigest())


async def _recorded(
    session: AsyncSession, table: sa.Table, key: IdempotencyKey
) -> uuid.UUID | None:
    row = (
        await session.execute(
            sa.select(table.c.fingerprint, table.c.resource_id).where(
                table.c.scope == key.scope, table.c.key == key.key
            )
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise Invalid(
            f"this {HEADER} was used for a different request",
            code="idempotency_key_reused",
        )
    resource_id: uuid.UUID = row.resource_id
    return resource_id


async def create_once(
    session: AsyncSession,
    table: sa.Table,
    key: IdempotencyKey | None,
    create: Callable[[], Awaitable[uuid.UUID]],
) -> uuid.UUID:
    """Run ``create`` (which adds rows but does not commit) and commit, at most once per key.

    Returns the id of the resource created now, or by the first request with this key.
    An IntegrityError that is not a repeat of the key propagates, rolled back.
    """
    if key is not None and (done := await _recorded(session, table, key)) is not None:
        return done
    resource_id = await create()
    if key is not None:
        await session.execute(
            table.insert().values(
                scope=key.scope,
                key=key.key,
                fingerprint=key.fingerprint,
                resource_id=resource_id,
                created_at=utcnow(),
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if key is not None and (done := await _recorded(session, table, key)) is not None:
            return done
        raise
    return resource_id
