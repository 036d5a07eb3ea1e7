"""Full-text search of competitions and entries (kit.search).

PostgreSQL: a stored generated ``search_vector`` on each table, weighted title (A) >
prompt and tags (B) > description and content (C) > rules (D), under a GIN index.
SQLite: FTS5 tables ``search_competitions`` and ``search_submissions`` filled from
the rows and kept in step by triggers.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.search import sqlite_fts_ddl, sqlite_fts_drop

revision = "0014"
down_revision = "0013"

VECTORS = {
    "competitions": "setweight(to_tsvector('english', title), 'A')"
    " || setweight(to_tsvector('english', prompt || ' ' || tags::text), 'B')"
    " || setweight(to_tsvector('english', description), 'C')"
    " || setweight(to_tsvector('english', rules), 'D')",
    "submissions": "setweight(to_tsvector('english', title), 'A')"
    " || setweight(to_tsvector('english', content), 'C')",
}
FTS_COLUMNS = {
    "competitions": ("title", "prompt", "tags", "description", "rules"),
    "submissions": ("title", "content"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, vector in VECTORS.items():
            op.execute(
                sa.text(
                    f"ALTER TABLE {table} ADD COLUMN search_vector tsvector"
                    f" GENERATED ALWAYS AS ({vector}) STORED"
                )
            )
            op.execute(
                sa.text(
                    f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)"
                )
            )
    else:
        for table, columns in FTS_COLUMNS.items():
            for statement in sqlite_fts_ddl(table, columns):
                op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in VECTORS:
            op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN search_vector"))
    else:
        for table in FTS_COLUMNS:
            for statement in sqlite_fts_drop(table):
                op.execute(sa.text(statement))
