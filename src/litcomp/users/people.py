"""The rules of people: uploaded profile pictures, writers followed, and portfolios.
No HTTP here, only sessions and domain errors (like ``service.py``)."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.kit.db import id_page, insert_ignore
from litcomp.kit.errors import Conflict, Invalid, NotFound
from litcomp.kit.times import utcnow
from litcomp.users.competitions_client import CompetitionsClient, Entry
from litcomp.users.models import Follow, ProfilePicture, User
from litcomp.users.pictures import Prepared, Size
from litcomp.users.service import get_user

MAX_FOLLOWERS_PAGE = 1000


def picture_path(user_id: uuid.UUID, version: str, size: Size = Size.LARGE) -> str:
    """Where the platform serves a user's picture (``GET`` from its own origin)."""
    return f"/users/{user_id}/picture/{version}/{size}"


async def set_picture(*, session: AsyncSession, user_id: uuid.UUID, picture: Prepared) -> User:
    """Store the re-encoded picture, replacing any before it, and point the profile at it."""
    user = await get_user(session=session, user_id=user_id)
    stored = await session.get(ProfilePicture, user_id)
    if stored is None:
        stored = ProfilePicture(user_id=user_id)
        session.add(stored)
    stored.version = picture.version
    stored.large, stored.small = picture.images[Size.LARGE], picture.images[Size.SMALL]
    stored.created_at = utcnow()
    user.profile_picture = picture_path(user_id, picture.version)
    await session.commit()
    return user


async def remove_picture(*, session: AsyncSession, user_id: uuid.UUID) -> User:
    """Forget the user's picture (none: nothing changes)."""
    user = await get_user(session=session, user_id=user_id)
    await forget_picture(session, user)
    await session.commit()
    return user


async def forget_picture(session: AsyncSession, user: User) -> None:
    """Remove the user's picture in the caller's transaction."""
    await session.execute(sa.delete(ProfilePicture).where(ProfilePicture.user_id == user.id))
    user.profile_picture = ""


def check_picture_change(user: User, value: str) -> bool:
    """Whether ``PATCH /users/profile``'s ``profile_picture`` removes the picture.

    A pasted link is refused rather than stored: an image from another host tells that
    host the address of everyone who views the profile, and the Content-Security-Policy
    (img-src 'self') would not show it anyway. The current value is accepted as "no
    change", so a client that sends back the profile it read still works."""
    if value == "":
        return True
    if value == user.profile_picture:
        return False
    message = "profile pictures are uploaded, not linked: PUT the image to /users/profile/picture"
    raise Invalid(
        "the request is not valid",
        details=[{"location": "body.profile_picture", "message": message, "type": "not_uploaded"}],
    )


async def picture(*, session: AsyncSession, user_id: uuid.UUID, version: str, size: Size) -> bytes:
    """The picture's image at ``size``; NotFound unless ``version`` is the current one."""
    column = ProfilePicture.large if size is Size.LARGE else ProfilePicture.small
    image = await session.scalar(
        sa.select(column).where(
            ProfilePicture.user_id == user_id, ProfilePicture.version == version
        )
    )
    if image is None:
        raise NotFound("no such picture")
    return image


async def follow(*, session: AsyncSession, follower_id: uuid.UUID, writer_id: uuid.UUID) -> User:
    """Follow the writer (again: nothing changes); the writer followed."""
    writer = await _writer(session, follower_id, writer_id)
    await insert_ignore(
        session,
        Follow,
        {"follower_id": follower_id, "writer_id": writer_id, "created_at": utcnow()},
    )
    await session.commit()
    return writer


async def unfollow(*, session: AsyncSession, follower_id: uuid.UUID, writer_id: uuid.UUID) -> User:
    """Stop following the writer (not following: nothing changes)."""
    writer = await _writer(session, follower_id, writer_id)
    await session.execute(
        sa.delete(Follow).where(Follow.follower_id == follower_id, Follow.writer_id == writer_id)
    )
    await session.commit()
    return writer


async def _writer(session: AsyncSession, follower_id: uuid.UUID, writer_id: uuid.UUID) -> User:
    if follower_id == writer_id:
        raise Conflict("you cannot follow yourself", code="own_account")
    return await get_user(session=session, user_id=writer_id)


async def following(
    *, session: AsyncSession, follower_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[tuple[User, datetime]], int]:
    """A page of the writers the user follows, most recently followed first, and how
    many they follow in all."""
    total = await session.scalar(
        sa.select(sa.func.count()).select_from(Follow).where(Follow.follower_id == follower_id)
    )
    rows = await session.execute(
        sa.select(User, Follow.created_at)
        .join(Follow, Follow.writer_id == User.id)
        .where(Follow.follower_id == follower_id)
        .order_by(Follow.created_at.desc(), Follow.writer_id)
        .limit(limit)
        .offset(offset)
    )
    return [(user, followed_at) for user, followed_at in rows], total or 0


async def is_following(
    *, session: AsyncSession, follower_id: uuid.UUID, writer_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        sa.select(Follow.writer_id).where(
            Follow.follower_id == follower_id, Follow.writer_id == writer_id
        )
    )
    return found is not None


async def list_followers(
    *, session: AsyncSession, writer_id: uuid.UUID, page_size: int, after: uuid.UUID | None
) -> tuple[list[uuid.UUID], uuid.UUID | None]:
    """One page of follower ids in id order, and the id to continue after (None at the end)."""
    return await id_page(
        session,
        Follow.follower_id,
        Follow.writer_id == writer_id,
        page_size=page_size,
        after=after,
        most=MAX_FOLLOWERS_PAGE,
    )


async def portfolio(
    *, competitions: CompetitionsClient, writer_id: uuid.UUID
) -> tuple[list[Entry], Counter[int]]:
    """The writer's entries anyone may read (revealed, not disqualified), newest first,
    and how many times they placed at each of the first three places."""
    entries = await competitions.list_user_submissions(
        writer_id, include_unrevealed=False, exclude_disqualified=True
    )
    return entries, medals(entries)


def medals(entries: Sequence[Entry]) -> Counter[int]:
    return Counter(e.place for e in entries if e.place is not None and e.place <= 3)
