"""Case-folded username and email keys, the same on SQLite as on PostgreSQL.

SQLite's lower() folds only ASCII letters, so unique indexes on lower(...) let
"JÖRG" and "jörg" both in. The keys are now folded in Python and kept in columns.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(32), nullable=True))
        batch.add_column(sa.Column("email_key", sa.String(254), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("username", sa.String()),
        sa.column("email", sa.String()),
        sa.column("username_key", sa.String()),
        sa.column("email_key", sa.String()),
    )
    connection = op.get_bind()
    for user_id, username, email in connection.execute(
        sa.select(users.c.id, users.c.username, users.c.email)
    ):
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(username_key=username.casefold(), email_key=email.casefold())
        )
    op.drop_index("uq_users_username_lower", table_name="users")
    op.drop_index("uq_users_email_lower", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(32), nullable=False)
        batch.alter_column("email_key", existing_type=sa.String(254), nullable=False)
        batch.create_unique_constraint("uq_users_username_key", ["username_key"])
        batch.create_unique_constraint("uq_users_email_key", ["email_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_email_key", type_="unique")
        batch.drop_constraint("uq_users_username_key", type_="unique")
        batch.drop_column("email_key")
        batch.drop_column("username_key")
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
