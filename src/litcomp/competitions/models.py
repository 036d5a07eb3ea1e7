"""Tables of the competitions database."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from litcomp.competitions.rules import Schedule
from litcomp.competitions.words import word_count
from litcomp.kit.db import NAMING_CONVENTION, UTCDateTime
from litcomp.kit.idempotency import idempotency_table
from litcomp.kit.times import utcnow


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Competition(Base):
    __tablename__ = "competitions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    admin_id: Mapped[uuid.UUID]
    start_date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # With it, entries close at end_date and likes come in a voting phase until then.
    voting_end_date: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    max_entries_per_user: Mapped[int] = mapped_column(default=1)
    prompt: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    rules: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")
    word_min: Mapped[int | None]
    word_max: Mapped[int | None]
    comments_after_results: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Authors and like counts hidden until the results (rules.Veil).
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # What places the entries: "likes", "judges" (their mean score) or "ranked" ballots.
    judging: Mapped[str] = mapped_column(sa.String(8), default="likes", server_default="likes")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set, with the places and their notifications, by the one transaction that
    # finalizes the competition after its end.
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("end_date > start_date", name="ends_after_start"),
        sa.CheckConstraint("max_entries_per_user >= 1", name="max_entries_positive"),
        sa.CheckConstraint(
            "voting_end_date IS NULL OR voting_end_date > end_date", name="voting_after_entries"
        ),
        sa.CheckConstraint(
            "word_min IS NULL OR word_max IS NULL OR word_min <= word_max", name="word_limits"
        ),
        sa.CheckConstraint("judging IN ('likes', 'judges', 'ranked')", name="judging"),
    )

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.start_date, self.end_date, self.voting_end_date)


# When a competition's last phase ends (Competition.schedule.results_at), in SQL.
RESULTS_AT = sa.func.coalesce(Competition.voting_end_date, Competition.end_date)


class Submission(Base):
    """An entry. ``like_count`` is kept in step with ``likes`` in the same transaction,
    so "top" lists and results read one row per entry. ``word_count`` is counted
    whenever the content is set (written or edited), so lists show it without
    reading the content."""

    __tablename__ = "submissions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)
    # The server default only let migration 0008 add the column without rebuilding the
    # table; an entry written or edited through this model has its words counted.
    word_count: Mapped[int] = mapped_column(server_default="0")
    # The content rendered (markdown.rendered) when it is written, so reads do not render.
    content_html: Mapped[str] = mapped_column(sa.Text, server_default="")
    like_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by its author, while open
    # Set by a moderator: out of lists and results, its likes gone (moderation.service).
    disqualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disqualified_reason: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_submissions_competition_id_created_at", "competition_id", "created_at"),
        sa.Index(
            "ix_submissions_competition_id_like_count",
            "competition_id",
            sa.text("like_count DESC"),
            "created_at",
        ),
        sa.Index("ix_submissions_author_id_created_at", "author_id", "created_at"),
    )

    @validates("content")
    def _count_words(self, _key: str, content: str) -> str:
        self.word_count = word_count(content)
        return content


class Draft(Base):
    """A writer's unfinished entry to one competition, saved as typed (no word limits):
    private to them, replaced by each save, deleted when they submit."""

    __tablename__ = "drafts"

    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE"), primary_key=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text)
    content: Mapped[str] = mapped_column(sa.Text)
    content_html: Mapped[str] = mapped_column(sa.Text, server_default="")  # the preview
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Like(Base):
    __tablename__ = "likes"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LikeNotice(Base):
    """Who has been told of whose like: the author hears of a like once, however
    often it is taken back and given again."""

    __tablename__ = "like_notices"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Read(Base):
    """A reader opened an entry (its page, with a token; not its author): the reading
    queue puts what they have read behind what they have not, and lists mark it."""

    __tablename__ = "reads"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # For the cascade when an entry is withdrawn.
    __table_args__ = (sa.Index("ix_reads_submission_id", "submission_id"),)


class Comment(Base):
    """A comment on an entry, or a reply to another comment on the same entry."""

    __tablename__ = "comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID]
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE")
    )
    content: Mapped[str] = mapped_column(sa.Text)
    content_html: Mapped[str] = mapped_column(sa.Text, server_default="")  # as Submission's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Removed by its author ("author") or hidden by a moderator ("moderator"): its text
    # is gone from every answer; the row stays, so replies keep their place.
    removed_by: Mapped[str | None] = mapped_column(sa.String(16))
    removed_reason: Mapped[str | None] = mapped_column(sa.Text)  # a moderator's

    __table_args__ = (
        sa.Index("ix_comments_submission_id_created_at", "submission_id", "created_at"),
        sa.CheckConstraint("removed_by IN ('author', 'moderator')", name="removed_by"),
    )


class Judge(Base):
    """Who scores the entries of a competition judged by ``judges``."""

    __tablename__ = "judges"

    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Score(Base):
    """A judge's score of an entry, 1 to 10, changed as often as they like until the end."""

    __tablename__ = "scores"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    judge_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int]
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 10", name="score_range"),)


class BallotEntry(Base):
    """One place on a reader's ranked ballot (``position`` 0 is their best). A ballot is
    its rows; saving it again replaces them."""

    __tablename__ = "ballot_entries"

    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE"), primary_key=True
    )
    voter_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Withdrawn or disqualified, an entry leaves every ballot it was on.
    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(Base):
    """A final place, written once when the competition is finalized; entries with
    equal scores share one."""

    __tablename__ = "placements"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE")
    )
    place: Mapped[int]
    likes: Mapped[int]
    # What placed it: the likes, the judges' mean or the Bradley-Terry score.
    score: Mapped[float] = mapped_column(sa.Double, server_default="0")
    ballots: Mapped[int | None]  # in ranked judging: how many ballots it was on

    __table_args__ = (sa.Index("ix_placements_competition_id_place", "competition_id", "place"),)


# SQLite numbers rows itself only in an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Notification(Base):
    """One notice to one user. ``seq`` numbers a user's notices 1, 2, 3, ... in the
    order they were committed (see notifications.store.record), so "everything after n"
    is exact: it is the id clients see."""

    __tablename__ = "notifications"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[dict[str, object]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationCounter(Base):
    """The last ``seq`` given to each user's notices."""

    __tablename__ = "notification_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger)


class FanoutJob(Base):
    """A notice every subscriber of a competition (who live in the users service) is
    still to get: a new entry, or the reveal of an anonymous competition's authors.

    Written in the transaction of what it announces; a worker turns it into one
    notification per subscriber and deletes it, in one transaction."""

    __tablename__ = "fanout_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(sa.String(32), server_default="submission.created")
    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE")
    )
    # The entry announced, if any: withdrawing it before the job is done drops the job.
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None]  # not told: nobody hears of their own entry
    data: Mapped[dict[str, object]] = mapped_column(sa.JSON)  # the notice every subscriber gets
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A job that failed waits until next_attempt_at, so it cannot hold up the others.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Report(Base):
    """A reader's report of an entry or a comment, open until a moderator acts on the
    item (or dismisses it). One open report per reader per item."""

    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    competition_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("competitions.id", ondelete="CASCADE")
    )
    target_type: Mapped[str] = mapped_column(sa.String(16))  # "submission" or "comment"
    target_id: Mapped[uuid.UUID]
    # The entry reported, or the entry the comment reported is on: a withdrawn entry
    # takes its reports with it.
    submission_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE")
    )
    reporter_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The moderation action that closed it (its audit row).
    closed_by_action: Mapped[uuid.UUID | None]

    __table_args__ = (
        sa.CheckConstraint("target_type IN ('submission', 'comment')", name="target_type"),
        sa.CheckConstraint(
            "reason IN ('spam', 'plagiarism', 'abuse', 'off_topic', 'other')", name="reason"
        ),
        sa.Index(
            "uq_reports_open_per_reporter",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        ),
        sa.Index("ix_reports_closed_at_created_at", "closed_at", "created_at"),
        sa.Index("ix_reports_target_type_target_id", "target_type", "target_id"),
    )


class ModerationAction(Base):
    """The audit log: every moderator's act, with its reason. Never changed or deleted,
    so it outlives what it acted on (no foreign keys)."""

    __tablename__ = "moderation_actions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    action: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[uuid.UUID]
    target_type: Mapped[str] = mapped_column(sa.String(16))
    target_id: Mapped[uuid.UUID]
    competition_id: Mapped[uuid.UUID | None]
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


idempotency_keys = idempotency_table(Base.metadata)
