"""Entries know their word count: ``submissions.word_count``, counted for every entry
already there with the function that counts new ones (litcomp.competitions.words).

The column is added NOT NULL with a server default of 0, so neither database rebuilds
the table (on SQLite a rebuild drops the old table, and with foreign keys on that
deletes every like and comment by cascade), then filled a page of entries at a time
(an entry is up to 200,000 characters: the table is never read whole).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from litcomp.competitions.words import word_count

revision = "0008"
down_revision = "0007"

PAGE = 200

submissions = sa.table(
    "submissions",
    sa.column("id", sa.Uuid()),
    sa.column("content", sa.Text()),
    sa.column("word_count", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("word_count", sa.Integer(), nullable=False, server_default="0"))
    connection = op.get_bind()
    count = (
        sa.update(submissions)
        .where(submissions.c.id == sa.bindparam("entry"))
        .values(word_count=sa.bindparam("words"))
    )
    query = sa.select(submissions.c.id, submissions.c.content).order_by(submissions.c.id)
    page = connection.execute(query.limit(PAGE)).all()
    while page:
        connection.execute(
            count, [{"entry": entry, "words": word_count(content)} for entry, content in page]
        )
        page = connection.execute(query.where(submissions.c.id > page[-1].id).limit(PAGE)).all()


def downgrade() -> None:
    # Not in a batch: on SQLite that rebuilds the table, deleting likes and comments
    # by cascade; ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later) does not.
    op.drop_column("submissions", "word_count")
