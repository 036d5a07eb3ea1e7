"""The moderation outbox: suspensions and lifts waiting to reach the audit log, which
the competitions service keeps.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "moderation_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "action IN ('suspend_user', 'lift_suspension')", name="ck_moderation_outbox_action"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_outbox"),
    )
    op.create_index("ix_moderation_outbox_created_at", "moderation_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_table("moderation_outbox")
