"""Competitions gain a voting phase and their terms: prompt, rules, tags, word limits,
and whether comments stay open after the results.

Existing competitions keep the behaviour they were made with: no voting phase, no
word limits, and comments that close at the end (new ones keep comments open after
the results unless their admin says otherwise).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("competitions") as table:
        table.add_column(sa.Column("voting_end_date", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("prompt", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("rules", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("word_min", sa.Integer(), nullable=True))
        table.add_column(sa.Column("word_max", sa.Integer(), nullable=True))
        table.add_column(
            sa.Column(
                "comments_after_results", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        table.create_check_constraint(
            "ck_competitions_voting_after_entries",
            "voting_end_date IS NULL OR voting_end_date > end_date",
        )
        table.create_check_constraint(
            "ck_competitions_word_limits",
            "word_min IS NULL OR word_max IS NULL OR word_min <= word_max",
        )
        table.create_index("ix_competitions_voting_end_date", ["voting_end_date"])
    op.execute(sa.text("UPDATE competitions SET comments_after_results = false"))


def downgrade() -> None:
    with op.batch_alter_table("competitions") as table:
        table.drop_index("ix_competitions_voting_end_date")
        table.drop_constraint("ck_competitions_word_limits", type_="check")
        table.drop_constraint("ck_competitions_voting_after_entries", type_="check")
        for column in (
            "comments_after_results",
            "word_max",
            "word_min",
            "tags",
            "rules",
            "prompt",
            "voting_end_date",
        ):
            table.drop_column(column)
