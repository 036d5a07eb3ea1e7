"""Entries their writers edit (edited_at), drafts, and places entries may share.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("edited_at", UTCDateTime(), nullable=True))
    op.create_table(
        "drafts",
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_drafts_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("competition_id", "author_id", name="pk_drafts"),
    )
    with op.batch_alter_table("placements") as table:
        table.drop_constraint("uq_placements_competition_id", type_="unique")
        table.create_index("ix_placements_competition_id_place", ["competition_id", "place"])


def downgrade() -> None:
    # Shared places cannot go back to one entry per place: renumber before downgrading.
    with op.batch_alter_table("placements") as table:
        table.drop_index("ix_placements_competition_id_place")
        table.create_unique_constraint("uq_placements_competition_id", ["competition_id", "place"])
    op.drop_table("drafts")
    with op.batch_alter_table("submissions") as table:
        table.drop_column("edited_at")
