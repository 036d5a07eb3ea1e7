"""Moderation: reports, the audit log of moderators' actions, comments their authors
edit or remove and moderators hide, and disqualified entries.

Nothing existing changes meaning: every comment stays shown, every entry qualified.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("disqualified_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("disqualified_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("comments") as table:
        table.add_column(sa.Column("edited_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("removed_by", sa.String(16), nullable=True))
        table.add_column(sa.Column("removed_reason", sa.Text(), nullable=True))
        table.create_check_constraint(
            "ck_comments_removed_by", "removed_by IN ('author', 'moderator')"
        )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_action", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "target_type IN ('submission', 'comment')", name="ck_reports_target_type"
        ),
        sa.CheckConstraint(
            "reason IN ('spam', 'plagiarism', 'abuse', 'off_topic', 'other')",
            name="ck_reports_reason",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_reports_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_reports_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index(
        "uq_reports_open_per_reporter",
        "reports",
        ["reporter_id", "target_type", "target_id"],
        unique=True,
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )
    op.create_index("ix_reports_closed_at_created_at", "reports", ["closed_at", "created_at"])
    op.create_index("ix_reports_target_type_target_id", "reports", ["target_type", "target_id"])
    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_actions"),
    )
    op.create_index("ix_moderation_actions_created_at", "moderation_actions", ["created_at"])


def downgrade() -> None:
    op.drop_table("moderation_actions")
    op.drop_table("reports")
    with op.batch_alter_table("comments") as table:
        table.drop_constraint("ck_comments_removed_by", type_="check")
        for column in ("removed_reason", "removed_by", "edited_at"):
            table.drop_column(column)
    with op.batch_alter_table("submissions") as table:
        table.drop_column("disqualified_reason")
        table.drop_column("disqualified_at")
