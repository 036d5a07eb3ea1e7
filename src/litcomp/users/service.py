"""The rules of the users service: no HTTP here, only sessions and domain errors."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.kit.auth import Principal
from litcomp.kit.db import CountedQuery, id_page, insert_ignore
from litcomp.kit.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from litcomp.kit.idempotency import IdempotencyKey, create_once
from litcomp.kit.search import Searched, search
from litcomp.kit.suspensions import suspended_error
from litcomp.kit.times import utcnow
from litcomp.users import tokens
from litcomp.users.competitions_client import Competition, CompetitionsClient
from litcomp.users.models import (
    SUSPENDED,
    AccountToken,
    MailOutbox,
    ModerationOutbox,
    RefreshToken,
    Subscription,
    User,
    fold,
    idempotency_keys,
)
from litcomp.users.passwords import hash_password, verify_password

MAX_SUBSCRIBERS_PAGE = 1000
MAX_SUSPENDED_PAGE = 1000

# How long a mailed token works, by what it is for.
MAILED_TOKEN_TTL = {
    tokens.RESET_PASSWORD: timedelta(minutes=30),
    tokens.VERIFY_EMAIL: timedelta(days=2),
    tokens.CHANGE_EMAIL: timedelta(hours=1),
}
# At most this many mails of one kind to one address an hour:
# more requests are answered alike but send nothing, so nobody can flood a mailbox.
MAILS_PER_HOUR = 3


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
        await _mail_token(session, user, tokens.VERIFY_EMAIL, email)

    try:
        user_id = await create_once(session, idempotency_keys, idempotency, create)
    except IntegrityError:
        # Someone took the name between our check and our insert.
        await session.rollback()
        raise Conflict("username or email already taken") from None
    return await get_user(session=session, user_id=user_id)


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(sa.select(User).where(User.email_key == fold(email)))
    await _end_read(session)
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
    *,
    session: AsyncSession,
    competitions: CompetitionsClient,
    user_id: uuid.UUID,
    limit: int,
    offset: int,
) -> tuple[list[Competition], int]:
    """A page of the user's competitions, most recently followed first, and how many
    they follow."""
    mine = Subscription.user_id == user_id
    query = (
        sa.select(Subscription.competition_id)
        .where(mine)
        .order_by(Subscription.created_at.desc(), Subscription.competition_id)
    )
    rows, total = await CountedQuery(query).page(session, limit=limit, offset=offset)
    await session.close()  # the connection goes back to the pool during the remote call
    ids = [competition_id for (competition_id,) in rows]
    if not ids:
        return [], total
    by_id = {c.competition_id: c for c in await competitions.get_competitions(ids)}
    return [by_id[i] for i in ids if i in by_id], total


async def get_users(*, session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    return list(await session.scalars(sa.select(User).where(User.id.in_(user_ids))))


WRITERS = Searched(User.__table__, headline_of=User.bio, weights=(10.0, 1.0), snippet_column=2)
MAX_SEARCH_PAGE = 100


async def search_writers(
    *, session: AsyncSession, text: str, limit: int, offset: int
) -> tuple[list[tuple[User, str]], int, bool]:
    """Writers whose username (first) or bio hold the words of ``text``, each with a
    snippet of their bio; how many match (up to kit.search.CANDIDATES), and whether
    that count is exact."""
    if not text.strip():
        raise Invalid("query must not be blank")
    page = await search(
        session,
        WRITERS,
        text=text,
        where=sa.true(),
        limit=min(max(limit, 1), MAX_SEARCH_PAGE),
        offset=max(offset, 0),
    )
    users = {user.id: user for user in await get_users(session=session, user_ids=page.hits_ids)}
    found = [(users[i], snippet) for i, snippet in page.hits if i in users]
    return found, page.total, page.total_exact


async def list_subscribers(
    *, session: AsyncSession, competition_id: uuid.UUID, page_size: int, after: uuid.UUID | None
) -> tuple[list[uuid.UUID], uuid.UUID | None]:
    """One page of subscriber ids in id order, and the id to continue after (None at the end)."""
    return await id_page(
        session,
        Subscription.user_id,
        Subscription.competition_id == competition_id,
        page_size=page_size,
        after=after,
        most=MAX_SUBSCRIBERS_PAGE,
    )


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


# Sessions: a login starts a family of refresh tokens (users/tokens.py, models.RefreshToken).


async def start_session(
    *, session: AsyncSession, user_id: uuid.UUID, ttl: timedelta
) -> RefreshToken:
    """A new session's first refresh token (after a login). The user's expired ones go:
    nothing can use them, and a used one only had to be known while it could be replayed."""
    now = utcnow()
    await session.execute(
        sa.delete(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.expires_at <= now
        )
    )
    refresh = RefreshToken(family_id=uuid.uuid4(), user_id=user_id, expires_at=now + ttl)
    session.add(refresh)
    await session.commit()
    return refresh


async def refresh_session(
    *, session: AsyncSession, secret: bytes, token: str, ttl: timedelta
) -> tuple[User, RefreshToken]:
    """Rotate a refresh token: the user and the next token of the session.

    A token used before (rotated) was copied: its whole session ends, for the thief
    and for the owner alike (who logs in again), and the answer is 401."""
    now = utcnow()
    token_id = tokens.token_id(secret, tokens.REFRESH, token)
    row = None if token_id is None else await session.get(RefreshToken, token_id)
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the session has ended; log in again", code="invalid_refresh_token")
    if row.expires_at <= now:
        raise Unauthorized("the session has expired; log in again", code="refresh_token_expired")
    rotated = await session.execute(
        sa.update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.rotated_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(rotated_at=now)
    )
    if rotated.rowcount != 1:  # type: ignore[attr-defined]
        user_id, family_id = row.user_id, row.family_id
        await session.rollback()
        await _revoke_sessions(session, user_id, now, family_id=family_id)
        await session.commit()
        raise Unauthorized(
            "this session was used from elsewhere and has been ended; log in again",
            code="refresh_token_reused",
        )
    user = await get_user(session=session, user_id=row.user_id)
    if user.is_suspended:
        raise suspended_error(user.suspension_reason or "")
    following = RefreshToken(family_id=row.family_id, user_id=user.id, expires_at=now + ttl)
    session.add(following)
    await session.commit()
    return user, following


async def end_session(*, session: AsyncSession, secret: bytes, token: str) -> None:
    """Log out: the token's session ends. A token that is not one, or of a session
    already ended, changes nothing (a repeat is harmless)."""
    token_id = tokens.token_id(secret, tokens.REFRESH, token)
    row = None if token_id is None else await session.get(RefreshToken, token_id)
    if row is not None:
        await _revoke_sessions(session, row.user_id, utcnow(), family_id=row.family_id)
        await session.commit()


async def _revoke_sessions(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    *,
    family_id: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> None:
    """End one session of the user (``family_id``), or all but ``keep``."""
    query = sa.update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if family_id is not None:
        query = query.where(RefreshToken.family_id == family_id)
    if keep is not None:
        query = query.where(RefreshToken.family_id != keep)
    await session.execute(query.values(revoked_at=now))


# Passwords and addresses.


async def change_password(
    *,
    session: AsyncSession,
    user_id: uuid.UUID,
    current_session: uuid.UUID | None,
    current_password: str,
    new_password: str,
) -> None:
    """Set a new password; every other session ends, and reset links die."""
    user = await get_user(session=session, user_id=user_id)
    await _check_password(session, user, current_password)
    user.password_hash = await hash_password(new_password)
    now = utcnow()
    await _revoke_sessions(session, user.id, now, keep=current_session)
    await _use_up(session, user.id, tokens.RESET_PASSWORD, now)
    await session.commit()


async def _check_password(session: AsyncSession, user: User, password: str) -> None:
    await _end_read(session)
    # 403, not 401: the caller's token is good (a 401 would have clients log them out).
    if not await verify_password(user.password_hash, password):
        raise Forbidden("the password is wrong", code="wrong_password")


async def _end_read(session: AsyncSession) -> None:
    """End the transaction that read the user before its password is checked: the
    check may wait its turn (``passwords``), and meanwhile holds no pooled connection
    nor, on SQLite, the write lock a writing session takes when it begins (which made
    every login wait for the one before it). Only reads precede this: nothing is written."""
    await session.commit()


async def request_password_reset(*, session: AsyncSession, email: str) -> bool:
    """Mail a reset link if an account has this address (and it was not mailed too
    often lately); whether a mail was queued. The caller answers alike either way."""
    user = await session.scalar(sa.select(User).where(User.email_key == fold(email)))
    if user is None or await _mailed_too_often(session, tokens.RESET_PASSWORD, user.email_key):
        return False
    await _mail_token(session, user, tokens.RESET_PASSWORD, user.email)
    await session.commit()
    return True


async def reset_password(
    *, session: AsyncSession, secret: bytes, token: str, new_password: str
) -> None:
    """Set the password a reset link was mailed for; every session of the account
    ends (whoever knew the old password is out), and the other links die."""
    password_hash = await hash_password(new_password)
    used = await _redeem(session, secret, token, (tokens.RESET_PASSWORD,))
    user = await get_user(session=session, user_id=used.user_id)
    user.password_hash = password_hash
    if used.email_key == user.email_key:
        user.email_verified = True  # the link reached them there
    now = utcnow()
    await _revoke_sessions(session, user.id, now)
    await _use_up(session, user.id, tokens.RESET_PASSWORD, now)
    await session.commit()


async def request_email_change(
    *, session: AsyncSession, user_id: uuid.UUID, new_email: str, password: str
) -> bool:
    """Mail a link to confirm ``new_email`` there, and a notice to the current
    address; whether mails were queued (not when sent too often lately)."""
    user = await get_user(session=session, user_id=user_id)
    await _check_password(session, user, password)
    if fold(new_email) == user.email_key:
        raise Conflict("this is already your email address", code="same_email")
    await _check_email_free(session, new_email)
    if await _mailed_too_often(session, tokens.CHANGE_EMAIL, fold(new_email)):
        return False
    await _mail_token(session, user, tokens.CHANGE_EMAIL, new_email)
    session.add(
        MailOutbox(
            kind="email_changed", recipient=user.email, username=user.username, detail=new_email
        )
    )
    await session.commit()
    return True


async def resend_verification(*, session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Mail the account's address a verification link again; whether one was queued."""
    user = await get_user(session=session, user_id=user_id)
    if user.email_verified:
        raise Conflict("your email address is already verified", code="already_verified")
    if await _mailed_too_often(session, tokens.VERIFY_EMAIL, user.email_key):
        return False
    await _mail_token(session, user, tokens.VERIFY_EMAIL, user.email)
    await session.commit()
    return True


async def confirm_email(*, session: AsyncSession, secret: bytes, token: str) -> User:
    """Follow a mailed link that proves an address: the sign-up's (verified now) or a
    new one's (the account's address from now on, if still free)."""
    used = await _redeem(session, secret, token, (tokens.VERIFY_EMAIL, tokens.CHANGE_EMAIL))
    user = await _locked(session, used.user_id)
    if used.purpose == tokens.CHANGE_EMAIL:
        await _check_email_free(session, used.email)
        user.email, user.email_key = used.email, used.email_key
        await _use_up(session, user.id, tokens.VERIFY_EMAIL, utcnow())  # for the old address
    elif used.email_key != user.email_key:
        raise Invalid("this link is for an address the account no longer has", code="token_invalid")
    user.email_verified = True
    try:
        await session.commit()
    except IntegrityError:  # taken between our check and our update
        await session.rollback()
        raise Conflict("this email address is already taken", code="email_taken") from None
    return user


async def _check_email_free(session: AsyncSession, email: str) -> None:
    if await session.scalar(sa.select(User.id).where(User.email_key == fold(email))):
        raise Conflict(
            "this email address is already taken", code="email_taken", details={"fields": ["email"]}
        )


async def _mail_token(session: AsyncSession, user: User, purpose: str, address: str) -> None:
    """A mailed token for ``purpose`` and the message carrying it, in the caller's
    transaction (the mail sender sends it once committed). The user's tokens that
    expired over an hour ago go (the throttle looks an hour back)."""
    now = utcnow()
    await session.execute(
        sa.delete(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.expires_at < now - timedelta(hours=1)
        )
    )
    token = AccountToken(
        id=uuid.uuid4(),
        user_id=user.id,
        purpose=purpose,
        email=address,
        email_key=fold(address),
        created_at=now,
        expires_at=now + MAILED_TOKEN_TTL[purpose],
    )
    session.add(token)
    session.add(
        MailOutbox(
            kind=purpose,
            recipient=address,
            username=user.username,
            token_id=token.id,
            created_at=now,
        )
    )


async def _mailed_too_often(session: AsyncSession, purpose: str, email_key: str) -> bool:
    sent = await session.scalar(
        sa.select(sa.func.count()).where(
            AccountToken.purpose == purpose,
            AccountToken.email_key == email_key,
            AccountToken.created_at > utcnow() - timedelta(hours=1),
        )
    )
    return (sent or 0) >= MAILS_PER_HOUR


async def _redeem(
    session: AsyncSession, secret: bytes, token: str, purposes: Sequence[str]
) -> AccountToken:
    """The mailed token's row, marked used (in the caller's transaction), if it is one
    of ``purposes``, unused and unexpired."""
    row = await _mailed_token(session, secret, token, purposes)
    if row is None:
        raise Invalid("this link is not valid", code="token_invalid")
    now = utcnow()
    if row.used_at is not None:
        raise Invalid("this link has already been used", code="token_used")
    if row.expires_at <= now:
        raise Invalid("this link has expired; ask for a new one", code="token_expired")
    taken = await session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Invalid("this link has already been used", code="token_used")
    return row


async def _mailed_token(
    session: AsyncSession, secret: bytes, token: str, purposes: Sequence[str]
) -> AccountToken | None:
    for purpose in purposes:
        token_id = tokens.token_id(secret, purpose, token)
        row = None if token_id is None else await session.get(AccountToken, token_id)
        if row is not None and row.purpose == purpose:
            return row
    return None


async def _use_up(session: AsyncSession, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
    """The user's unused tokens for ``purpose`` stop working."""
    await session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
