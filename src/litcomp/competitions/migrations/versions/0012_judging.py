"""Judging modes: judges and their scores, ranked ballots, and the score that placed
each entry.

Existing competitions keep being judged by likes; a place written before keeps its
likes as its score.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.db import UTCDateTime

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("competitions") as table:
        table.add_column(sa.Column("judging", sa.String(8), nullable=False, server_default="likes"))
        table.create_check_constraint(
            "ck_competitions_judging", "judging IN ('likes', 'judges', 'ranked')"
        )
    with op.batch_alter_table("placements") as table:
        table.add_column(sa.Column("score", sa.Double(), nullable=False, server_default="0"))
        table.add_column(sa.Column("ballots", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE placements SET score = likes"))
    op.create_table(
        "judges",
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_judges_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("competition_id", "user_id", name="pk_judges"),
    )
    op.create_table(
        "scores",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("judge_id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("scored_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 10", name="ck_scores_score_range"),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_scores_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_scores_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "judge_id", name="pk_scores"),
    )
    op.create_index("ix_scores_competition_id", "scores", ["competition_id"])
    op.create_table(
        "ballot_entries",
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("voter_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("cast_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name="fk_ballot_entries_competition_id_competitions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_ballot_entries_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("competition_id", "voter_id", "position", name="pk_ballot_entries"),
    )
    op.create_index("ix_ballot_entries_submission_id", "ballot_entries", ["submission_id"])


def downgrade() -> None:
    op.drop_table("ballot_entries")
    op.drop_table("scores")
    op.drop_table("judges")
    with op.batch_alter_table("placements") as table:
        table.drop_column("ballots")
        table.drop_column("score")
    with op.batch_alter_table("competitions") as table:
        table.drop_constraint("ck_competitions_judging", type_="check")
        table.drop_column("judging")
