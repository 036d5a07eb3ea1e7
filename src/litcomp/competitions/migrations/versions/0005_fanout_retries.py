"""Fan-out jobs that fail are retried later, behind the others.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("fanout_jobs") as table:
        table.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fanout_jobs") as table:
        table.drop_column("next_attempt_at")
        table.drop_column("attempts")
