"""Reads: which entries each reader has opened, for the reading queue.

The primary key (user, entry) is the queue's lookup (one reader's reads); the index
on the entry serves the cascade when an entry is withdrawn.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.create_table(
        "reads",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_reads_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "submission_id", name="pk_reads"),
    )
    op.create_index("ix_reads_submission_id", "reads", ["submission_id"])


def downgrade() -> None:
    op.drop_table("reads")
