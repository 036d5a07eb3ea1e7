"""The rules of sessions and mailed tokens (users/service.py) against PostgreSQL and
SQLite: rotation, a rotated token used again ending its session, two uses at once
(one wins), expiry, a password change keeping the caller's session only, and a mailed
token used once however many try at once."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from litcomp.kit.db import create_engine, create_sessionmaker, migrate
from litcomp.kit.errors import Invalid, Unauthorized
from litcomp.kit.times import utcnow
from litcomp.users import service, tokens
from litcomp.users.app import MIGRATIONS
from litcomp.users.models import AccountToken, RefreshToken

Sessions = async_sessionmaker[AsyncSession]
SECRET = b"k" * 32
TTL = timedelta(days=1)
PASSWORD = "correct horse battery"


@pytest.fixture(params=["postgresql", "sqlite"])
async def sessions(
    request: pytest.FixtureRequest, users_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Sessions]:
    if request.param == "postgresql":
        yield create_sessionmaker(users_engine)
        return
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/users.db")
    await migrate(engine, MIGRATIONS)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _user(sessions: Sessions) -> uuid.UUID:
    name = f"u{uuid.uuid4().hex[:12]}"
    async with sessions() as session:
        user = await service.register(
            session=session, username=name, email=f"{name}@example.com", password=PASSWORD
        )
        return user.id


async def _login(sessions: Sessions, user_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    async with sessions() as session:
        row = await service.start_session(session=session, user_id=user_id, ttl=TTL)
        return tokens.mint(SECRET, tokens.REFRESH, row.id), row.family_id


async def _refresh(sessions: Sessions, token: str) -> str:
    async with sessions() as session:
        _, row = await service.refresh_session(session=session, secret=SECRET, token=token, ttl=TTL)
        return tokens.mint(SECRET, tokens.REFRESH, row.id)


async def _refused(sessions: Sessions, token: str) -> str:
    with pytest.raises(Unauthorized) as refused:
        await _refresh(sessions, token)
    return refused.value.code


async def test_a_refresh_rotates_and_a_replay_ends_the_session(sessions: Sessions) -> None:
    user = await _user(sessions)
    first, _ = await _login(sessions, user)
    second = await _refresh(sessions, first)
    other, _ = await _login(sessions, user)
    assert await _refused(sessions, first) == "refresh_token_reused"
    assert await _refused(sessions, second) == "invalid_refresh_token"
    assert await _refresh(sessions, other)  # another session of the user goes on


async def test_two_uses_at_once_one_wins_and_the_session_ends(sessions: Sessions) -> None:
    token, family = await _login(sessions, await _user(sessions))
    outcomes = await asyncio.gather(
        _refresh(sessions, token), _refresh(sessions, token), return_exceptions=True
    )
    refused = [o.code for o in outcomes if isinstance(o, Unauthorized)]
    assert refused == ["refresh_token_reused"]
    assert sum(isinstance(o, str) for o in outcomes) == 1
    async with sessions() as session:
        live = await session.scalar(
            sa.select(sa.func.count()).where(
                RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None)
            )
        )
    assert live == 0


async def test_an_expired_refresh_token_is_refused(sessions: Sessions) -> None:
    token, family = await _login(sessions, await _user(sessions))
    async with sessions() as session:
        await session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.family_id == family)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await _refused(sessions, token) == "refresh_token_expired"


async def test_a_password_change_keeps_the_callers_session_only(sessions: Sessions) -> None:
    user = await _user(sessions)
    mine, my_family = await _login(sessions, user)
    theirs, _ = await _login(sessions, user)
    async with sessions() as session:
        await service.change_password(
            session=session,
            user_id=user,
            current_session=my_family,
            current_password=PASSWORD,
            new_password="another passphrase",
        )
    assert await _refresh(sessions, mine)
    assert await _refused(sessions, theirs) == "invalid_refresh_token"


async def test_a_mailed_token_works_once_however_many_try(sessions: Sessions) -> None:
    user = await _user(sessions)
    async with sessions() as session:
        token_id = await session.scalar(
            sa.select(AccountToken.id).where(AccountToken.user_id == user)
        )
    assert token_id is not None  # the sign-up's verification
    token = tokens.mint(SECRET, tokens.VERIFY_EMAIL, token_id)

    async def confirm() -> object:
        async with sessions() as session:
            return await service.confirm_email(session=session, secret=SECRET, token=token)

    outcomes = await asyncio.gather(confirm(), confirm(), confirm(), return_exceptions=True)
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(o.code == "token_used" for o in outcomes if isinstance(o, Invalid))
    with pytest.raises(Invalid) as again:
        await confirm()
    assert again.value.code == "token_used"


async def test_old_tokens_are_cleared_as_new_ones_come(sessions: Sessions) -> None:
    user = await _user(sessions)
    _, family = await _login(sessions, user)
    async with sessions() as session:
        await session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.family_id == family)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await _login(sessions, user)
    async with sessions() as session:
        left = await session.scalar(
            sa.select(sa.func.count()).where(RefreshToken.family_id == family)
        )
    assert left == 0
