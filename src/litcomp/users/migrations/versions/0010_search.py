"""Full-text search of writers (kit.search): their username (weight A) and bio (C).

PostgreSQL: a stored generated ``search_vector`` under a GIN index. SQLite: the FTS5
table ``search_users`` kept in step by triggers.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from litcomp.kit.search import sqlite_fts_ddl, sqlite_fts_drop

revision = "0010"
down_revision = "0009"

VECTOR = (
    "setweight(to_tsvector('english', username), 'A')"
    " || setweight(to_tsvector('english', bio), 'C')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                f"ALTER TABLE users ADD COLUMN search_vector tsvector"
                f" GENERATED ALWAYS AS ({VECTOR}) STORED"
            )
        )
        op.execute(
            sa.text("CREATE INDEX ix_users_search_vector ON users USING gin (search_vector)")
        )
    else:
        for statement in sqlite_fts_ddl("users", ("username", "bio")):
            op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("ALTER TABLE users DROP COLUMN search_vector"))
    else:
        for statement in sqlite_fts_drop("users"):
            op.execute(sa.text(statement))
