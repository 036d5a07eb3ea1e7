"""Suspensions: admins suspend users; the last suspension is kept on the user's row.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0004"
down_revision = "0003"

SUSPENDED = sa.text("suspended_at IS NOT NULL AND suspension_lifted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("suspended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("suspended_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("suspension_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("suspension_lifted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("suspension_lifted_by", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_users_suspended",
        "users",
        ["id"],
        postgresql_where=SUSPENDED,
        sqlite_where=SUSPENDED,
    )


def downgrade() -> None:
    op.drop_index("ix_users_suspended", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("suspension_lifted_by")
        batch.drop_column("suspension_lifted_at")
        batch.drop_column("suspension_reason")
        batch.drop_column("suspended_by")
        batch.drop_column("suspended_at")
