"""Tables of the users database."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from litcomp.kit.db import NAMING_CONVENTION, UTCDateTime
from litcomp.kit.idempotency import idempotency_table
from litcomp.kit.times import utcnow


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(sa.String(32))
    email: Mapped[str] = mapped_column(sa.String(254))
    # Usernames and emails are unique whatever their case: these hold them case-folded
    # (by Python, the same on every database) under unique constraints.
    username_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    email_key: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    profile_picture: Mapped[str] = mapped_column(sa.String(2048), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("role IN ('user', 'admin')", name="role"),)


def fold(text: str) -> str:
    """The form in which two usernames (or emails) that differ only in case are equal."""
    return text.casefold()


class Subscription(Base):
    """A user following a competition (which lives in the competitions service)."""

    __tablename__ = "subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    competition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Fan-out of "new submission" notices pages through a competition's subscribers.
        sa.Index("ix_subscriptions_competition_id_user_id", "competition_id", "user_id"),
    )


idempotency_keys = idempotency_table(Base.metadata)
