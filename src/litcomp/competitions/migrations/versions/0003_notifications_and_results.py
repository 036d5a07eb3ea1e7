"""Notifications (with per-user sequence numbers), fan-out jobs, final placements.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0003"
down_revision = "0002"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("competitions") as batch:
        batch.add_column(sa.Column("finalized_at", UTCDateTime(), nullable=True))
    op.create_table(
        "placements",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_placements_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_placements_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name="pk_placements"),
        sa.UniqueConstraint("competition_id", "place", name="uq_placements_competition_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "seq", name="pk_notifications"),
    )
    op.create_table(
        "notification_counters",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_notification_counters"),
    )
    op.create_table(
        "fanout_jobs",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_fanout_jobs_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_fanout_jobs_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fanout_jobs"),
    )


def downgrade() -> None:
    op.drop_table("fanout_jobs")
    op.drop_table("notification_counters")
    op.drop_table("notifications")
    op.drop_table("placements")
    with op.batch_alter_table("competitions") as batch:
        batch.drop_column("finalized_at")
