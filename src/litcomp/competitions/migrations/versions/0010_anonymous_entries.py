"""Anonymous competitions, and fan-out jobs for notices other than a new entry.

Existing competitions stay as they were made: not anonymous. A fan-out job now says
which notice it carries (every existing job is a new entry's) and may be about a
whole competition (its reveal) rather than one entry, with nobody left out.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("competitions") as table:
        table.add_column(
            sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("fanout_jobs") as table:
        table.add_column(
            sa.Column("type", sa.String(32), nullable=False, server_default="submission.created")
        )
        table.alter_column("submission_id", existing_type=sa.Uuid(), nullable=True)
        table.alter_column("author_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM fanout_jobs WHERE type <> 'submission.created'"))
    with op.batch_alter_table("fanout_jobs") as table:
        table.alter_column("author_id", existing_type=sa.Uuid(), nullable=False)
        table.alter_column("submission_id", existing_type=sa.Uuid(), nullable=False)
        table.drop_column("type")
    with op.batch_alter_table("competitions") as table:
        table.drop_column("anonymous")
