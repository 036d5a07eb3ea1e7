"""Idempotency keys: a POST repeated with the same ``Idempotency-Key`` creates nothing new.

The first request with a key records, in the same transaction as what it creates,
the key, a fingerprint of the request and the id of the created resource. A repeat
finds the record and answers about the same resource; a concurrent repeat waits on
the first one's claim and then finds its record. The same key with a different
request is refused. Fingerprints never include secrets (a password would be stored
as a fast hash).

Each service keeps the records in its own database (``idempotency_table``).
"""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.kit.db import UTCDateTime, upsert
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
    create: Callable[[uuid.UUID], Awaitable[None]],
) -> uuid.UUID:
    """Create a resource (``create`` adds its rows, with the id it is given) and commit,
    at most once per key. Returns the id created now, or by the first request.

    The key is claimed before anything else, with an INSERT that does nothing on a
    conflict: a concurrent request with the same key waits there until the first
    commits (or rolls back), then finds its record instead of creating anything.
    """
    resource_id = uuid.uuid4()
    if key is not None:
        claim = upsert(session, table).values(
            scope=key.scope,
            key=key.key,
            fingerprint=key.fingerprint,
            resource_id=resource_id,
            created_at=utcnow(),
        )
        claimed = await session.execute(claim.on_conflict_do_nothing())
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            done = await _recorded(session, table, key)
            assert done is not None, "a key that conflicted is recorded"
            return done
    await create(resource_id)
    await session.commit()
    return resource_id
