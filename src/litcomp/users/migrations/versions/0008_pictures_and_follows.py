"""Uploaded profile pictures, and readers following writers.

Revision ID: 0008
Revises: 0005 (for now: 0006 and 0007 are being written beside this one; the merge
chains 0008 after 0007)
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "profile_pictures",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("large", sa.LargeBinary(), nullable=False),
        sa.Column("small", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_profile_pictures_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_profile_pictures"),
    )
    op.create_table(
        "follows",
        sa.Column("follower_id", sa.Uuid(), nullable=False),
        sa.Column("writer_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("follower_id <> writer_id", name="ck_follows_not_self"),
        sa.ForeignKeyConstraint(
            ["follower_id"], ["users.id"], name="fk_follows_follower_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["writer_id"], ["users.id"], name="fk_follows_writer_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("follower_id", "writer_id", name="pk_follows"),
    )
    op.create_index("ix_follows_writer_id_follower_id", "follows", ["writer_id", "follower_id"])
    op.create_index("ix_follows_follower_id_created_at", "follows", ["follower_id", "created_at"])


def downgrade() -> None:
    op.drop_table("follows")
    op.drop_table("profile_pictures")
