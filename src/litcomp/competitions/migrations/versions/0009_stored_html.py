"""Entries, comments and drafts keep their Markdown rendered (``content_html``), made
when the text is written, so that reading never renders: rendering text written to be
slow takes seconds, and a reader must not pay for it on every read. Filled here for
what is already there, a page at a time, with the function that renders new text.

Columns are added without a batch (no table rebuild on SQLite).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from litcomp.competitions.markdown import to_html

revision = "0009"
down_revision = "0008"

PAGE = 200
TABLES = {"submissions": ("id",), "comments": ("id",), "drafts": ("competition_id", "author_id")}


def upgrade() -> None:
    connection = op.get_bind()
    for name, key in TABLES.items():
        op.add_column(name, sa.Column("content_html", sa.Text(), nullable=False, server_default=""))
        table = sa.table(name, *(sa.column(k, sa.Uuid()) for k in key), sa.column("content"))
        html = sa.table(name, sa.column("content_html"), *(sa.column(k, sa.Uuid()) for k in key))
        render = (
            sa.update(html)
            .where(*(html.c[k] == sa.bindparam(f"key_{k}") for k in key))
            .values(content_html=sa.bindparam("html"))
        )
        query = sa.select(table).order_by(*(table.c[k] for k in key))
        page = connection.execute(query.limit(PAGE)).all()
        while page:
            connection.execute(
                render,
                [
                    {**{f"key_{k}": row._mapping[k] for k in key}, "html": to_html(row.content)}
                    for row in page
                ],
            )
            last = sa.tuple_(*(table.c[k] for k in key)) > sa.tuple_(*page[-1][: len(key)])
            page = connection.execute(query.where(last).limit(PAGE)).all()


def downgrade() -> None:
    for name in TABLES:
        op.drop_column(name, "content_html")
