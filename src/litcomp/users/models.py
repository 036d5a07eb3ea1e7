"""Tables of the users database."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from litcomp.kit.db import NAMING_CONVENTION, UTCDateTime
from litcomp.kit.idempotency import idempotency_table
from litcomp.kit.times import utcnow

SUSPENDED = sa.text("suspended_at IS NOT NULL AND suspension_lifted_at IS NULL")


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
    # Whether the owner proved the address is theirs (a mailed link): sign-up and every
    # change of address set it false until then.
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    profile_picture: Mapped[str] = mapped_column(sa.String(2048), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last suspension, kept after it is lifted: who, when and why (an admin's
    # id, not a foreign key, so the record outlives any account). A user is
    # suspended while suspended_at is set and suspension_lifted_at is not.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    suspended_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    suspension_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    suspension_lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    suspension_lifted_by: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        sa.CheckConstraint("role IN ('user', 'admin')", name="role"),
        # Every instance reads the suspended users every few seconds: a partial index
        # holds only them, so that read does not scan every account.
        sa.Index(
            "ix_users_suspended",
            "id",
            postgresql_where=SUSPENDED,
            sqlite_where=SUSPENDED,
        ),
    )

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None and self.suspension_lifted_at is None


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


class ModerationOutbox(Base):
    """Admins' acts on users (a suspension, a changed reason, a lift) still to be
    recorded in the moderation audit log, which the competitions service keeps.

    Written in the transaction of the act; a worker (``users/outbox.py``) sends the rows
    over gRPC and deletes each one competitions acknowledged. The id becomes the audit
    row's id, so sending one twice records it once."""

    __tablename__ = "moderation_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    action: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[uuid.UUID]  # an admin; no foreign key, like the audit log
    target_id: Mapped[uuid.UUID]  # the user acted on
    reason: Mapped[str] = mapped_column(sa.Text)  # empty for a lift
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A row competitions refused waits until next_attempt_at, behind the others.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("action IN ('suspend_user', 'lift_suspension')", name="action"),
        sa.Index("ix_moderation_outbox_created_at", "created_at"),
    )


# People: profile pictures and writers followed (issue 17).


class ProfilePicture(Base):
    """A user's uploaded picture, re-encoded (``users/pictures.py``) in the two sizes the
    app shows. Kept here rather than on a disk, so every replica serves it. ``version``
    is in its URL (``users.profile_picture``) and changes with the picture, so browsers
    may cache it for good."""

    __tablename__ = "profile_pictures"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(sa.String(32))
    large: Mapped[bytes] = mapped_column(sa.LargeBinary)  # 256 x 256 WebP
    small: Mapped[bytes] = mapped_column(sa.LargeBinary)  # 64 x 64 WebP
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(Base):
    """A reader following a writer: they hear of the writer's entries (writer.published)."""

    __tablename__ = "follows"

    follower_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    writer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("follower_id <> writer_id", name="not_self"),
        # The fan-out of writer.published pages through a writer's followers.
        sa.Index("ix_follows_writer_id_follower_id", "writer_id", "follower_id"),
        # A reader's list, most recently followed first.
        sa.Index("ix_follows_follower_id_created_at", "follower_id", "created_at"),
    )


class RefreshToken(Base):
    """A refresh token (``users/tokens.py``: the row keeps its id, never the token).

    A login starts a family (a session); each refresh rotates the token: the used one
    is marked, a new one of the family is issued. Using a rotated one again means it
    was stolen (or copied): the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AccountToken(Base):
    """A mailed token (reset a password, verify an address, confirm a new one): its id,
    what it is for, and the address it went to; single use."""

    __tablename__ = "account_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(sa.String(16))
    email: Mapped[str] = mapped_column(sa.String(254))
    email_key: Mapped[str] = mapped_column(sa.String(254))  # folded: the throttle counts by it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        sa.CheckConstraint(
            "purpose IN ('reset_password', 'verify_email', 'change_email')", name="purpose"
        ),
        sa.Index(
            "ix_account_tokens_purpose_email_key_created_at", "purpose", "email_key", "created_at"
        ),
    )


class MailOutbox(Base):
    """A message to send, written in the transaction of the act that calls for it; the
    mail sender (``users/mail.py``) builds it (recomputing a token from ``token_id``),
    sends it and deletes the row. It holds no secret."""

    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(sa.String(32))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    username: Mapped[str] = mapped_column(sa.String(32))
    token_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    detail: Mapped[str] = mapped_column(
        sa.String(254), default=""
    )  # email_changed: the new address
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # Not before then: a failed message waits (backoff), a message being sent is leased.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('reset_password', 'verify_email', 'change_email', 'email_changed')",
            name="kind",
        ),
        sa.Index("ix_mail_outbox_created_at", "created_at"),
    )


idempotency_keys = idempotency_table(Base.metadata)
