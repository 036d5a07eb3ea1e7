"""The rules of the users service: no HTTP here, only sessions and domain errors."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.kit.auth import Principal
from litcomp.kit.db import insert_ignore
from litcomp.kit.errors import Conflict, Forbidden, NotFound, Unauthorized
from litcomp.kit.idempotency import IdempotencyKey, create_once
from litcomp.kit.suspensions import suspended_error
from litcomp.kit.times import utcnow
from litcomp.users.competitions_client import Competition, CompetitionsClient
from litcomp.users.models import (
    SUSPENDED,
    ModerationOutbox,
    Subscription,
    User,
    fold,
    idempotency_keys,
)
from litcomp.users.passwords import hash_password, verify_password

MAX_SUBSCRIBERS_PAGE = 1000
MAX_SUSPENDED_PAGE = 1000


async def _taken(session: AsyncSession, *, username: str, email: str) -> list[str]:
    rows = await session.execute(
        sa.select(User.username_key, User.email_key).where(
            sa.or_(User.username_key == fold(username), User.email_key == fold(email))
        )
    )
    taken: set[str] = set()
    for username_key, email_key in rows:
        if username_key == fold(username):
            taken.add("username")
        if email_key == fold(email):
            taken.add("email")
    return sorted(taken)


async def register(
    *,
    session: AsyncSession,
    username: str,
    email: str,
    password: str,
    role: str = "user",
    idempotency: IdempotencyKey | None = None,
) -> User:
    # Hashed before any query, so no connection is held during the 0.1 s it takes.
    password_hash = await hash_password(password)

    async def create(user_id: uuid.UUID) -> None:
        taken = await _taken(session, username=username, email=email)
        if taken:
            raise Conflict(f"{' and '.join(taken)} already taken", details={"fields": taken})
        user = User(
            id=user_id,
            username=username,
            email=email,
            username_key=fold(username),
            email_key=fold(email),
            password_hash=password_hash,
            role=role,
        )
        session.add(user)
        await session.flush()

    try:
        user_id = await create_once(session, idempotency_keys, idempotency, create)
    except IntegrityError:
        # Someone took the name between our check and our insert.
        await session.rollback()
        raise Conflict("username or email already taken") from None
    return await get_user(session=session, user_id=user_id)


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(sa.select(User).where(User.email_key == fold(email)))
    if not await verify_password(user.password_hash if user else None, password):
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    assert user is not None
    # After the password: whether an account is suspended is no one else's business.
    if user.is_suspended:
        raise suspended_error(user.suspension_reason or "")
    return user


async def get_user(*, session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def update_profile(
    *, session: AsyncSession, user_id: uuid.UUID, changes: dict[str, Any]
) -> User:
    user = await get_user(session=session, user_id=user_id)
    for field, value in changes.items():
        setattr(user, field, value)
    await session.commit()
    return user


async def subscribe(
    *,
    session: AsyncSession,
    competitions: CompetitionsClient,
    user_id: uuid.UUID,
    competition_id: uuid.UUID,
) -> None:
    # Ask competitions first, so no database connection is held during the call.
    found = await competitions.get_competitions([competition_id])
    if not found:
        raise NotFound("no such competition")
    if found[0].results_at <= utcnow():
        raise Conflict("the competition has finished", code="competition_finished")
    await insert_ignore(
        session,
        Subscription,
        {"user_id": user_id, "competition_id": competition_id, "created_at": utcnow()},
    )
    await session.commit()


async def unsubscribe(
    *, session: AsyncSession, user_id: uuid.UUID, competition_id: uuid.UUID
) -> None:
    await session.execute(
        sa.delete(Subscription).where(
            Subscription.user_id == user_id, Subscription.competition_id == competition_id
        )
    )
    await session.commit()


async def list_subscriptions(
    *, session: AsyncSession, competitions: CompetitionsClient, user_id: uuid.UUID
) -> list[Competition]:
    """The user's competitions, most recently followed first."""
    ids = list(
        await session.scalars(
            sa.select(Subscription.competition_id)
            .where(Subscription.user_id == user_id)
            .order_by(Subscription.created_at.desc())
        )
    )
    await session.close()  # the connection goes back to the pool during the remote call
    if not ids:
        return []
    by_id = {c.competition_id: c for c in await competitions.get_competitions(ids)}
    return [by_id[i] for i in ids if i in by_id]


async def get_users(*, session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    return list(await session.scalars(sa.select(User).where(User.id.in_(user_ids))))


async def list_subscribers(
    *, session: AsyncSession, competition_id: uuid.UUID, page_size: int, after: uuid.UUID | None
) -> tuple[list[uuid.UUID], uuid.UUID | None]:
    """One page of subscriber ids in id order, and the id to continue after (None at the end)."""
    size = page_size if 0 < page_size <= MAX_SUBSCRIBERS_PAGE else MAX_SUBSCRIBERS_PAGE
    query = sa.select(Subscription.user_id).where(Subscription.competition_id == competition_id)
    if after is not None:
        query = query.where(Subscription.user_id > after)
    ids = list(await session.scalars(query.order_by(Subscription.user_id).limit(size + 1)))
    return ids[:size], ids[size - 1] if len(ids) > size else None


async def create_admin(
    *, session: AsyncSession, email: str, username: str, password: str
) -> tuple[User, bool]:
    """Make the user with this email an admin, creating the account if there is none.

    Returns the user and whether it was created.
    """
    user = await session.scalar(sa.select(User).where(User.email_key == fold(email)))
    if user is None:
        created = await register(
            session=session, username=username, email=email, password=password, role="admin"
        )
        return created, True
    user.role = "admin"
    await session.commit()
    return user, False


async def suspend(
    *, session: AsyncSession, actor: Principal, user_id: uuid.UUID, reason: str
) -> tuple[User, bool]:
    """Suspend the user (admins only); again while suspended, with another reason, only
    the reason (and who gave it) changes: the suspension still dates from when it began.
    Again with the same reason changes nothing (a replay). Whether anything changed;
    each change leaves a row in the moderation outbox, in the same transaction."""
    if not actor.is_admin:
        raise Forbidden("only admins can suspend users")
    user = await _locked(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot suspend yourself", code="own_account")
    if user.role == "admin":
        # An admin could lock the others out; and the gateway's operator pages take an
        # admin's token without asking who is suspended.
        raise Conflict("admins cannot be suspended", code="admin_account")
    if user.is_suspended and user.suspension_reason == reason:
        return user, False
    now = utcnow()
    if not user.is_suspended:
        user.suspended_at = now
        user.suspension_lifted_at = user.suspension_lifted_by = None
    user.suspension_reason = reason
    user.suspended_by = actor.user_id
    _audit(session, "suspend_user", actor, user, reason, now)
    await session.commit()
    return user, True


async def lift_suspension(
    *, session: AsyncSession, actor: Principal, user_id: uuid.UUID
) -> tuple[User, bool]:
    """Lift the user's suspension (admins only); lifting one not suspended changes
    nothing. Whether it was lifted (then a row in the moderation outbox says so)."""
    if not actor.is_admin:
        raise Forbidden("only admins can lift suspensions")
    user = await _locked(session, user_id)
    if not user.is_suspended:
        return user, False
    now = utcnow()
    user.suspension_lifted_at = now
    user.suspension_lifted_by = actor.user_id
    _audit(session, "lift_suspension", actor, user, "", now)
    await session.commit()
    return user, True


def _audit(
    session: AsyncSession, action: str, actor: Principal, user: User, reason: str, now: datetime
) -> None:
    """The act, for the audit log competitions keeps: ``users/outbox.py`` sends it."""
    session.add(
        ModerationOutbox(
            action=action, actor_id=actor.user_id, target_id=user.id, reason=reason, created_at=now
        )
    )


async def _locked(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user's row, locked until commit (two admins acting at once take turns)."""
    user = await session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("no such user")
    return user


async def suspended_users(
    *, session: AsyncSession, page_size: int, after: uuid.UUID | None
) -> tuple[list[tuple[uuid.UUID, str]], uuid.UUID | None]:
    """One page of (id, reason) of the users suspended now, in id order, and the id to
    continue after (None at the end)."""
    size = page_size if 0 < page_size <= MAX_SUSPENDED_PAGE else MAX_SUSPENDED_PAGE
    query = sa.select(User.id, User.suspension_reason).where(SUSPENDED)
    if after is not None:
        query = query.where(User.id > after)
    rows = [(i, r or "") for i, r in await session.execute(query.order_by(User.id).limit(size + 1))]
    return rows[:size], rows[size - 1][0] if len(rows) > size else None


async def all_suspended(*, session: AsyncSession) -> dict[uuid.UUID, str]:
    """Every user suspended now, with the reason: this instance's ``Suspensions``."""
    found: dict[uuid.UUID, str] = {}
    after = None
    while True:
        page, after = await suspended_users(
            session=session, page_size=MAX_SUSPENDED_PAGE, after=after
        )
        found.update(page)
        if after is None:
            return found
