"""Profile pictures linked from elsewhere are dropped: pictures are uploaded now.

An image from another host tells that host the address of everyone who views the
profile, and the app's Content-Security-Policy (img-src 'self') no longer lets a
browser load it: kept, it would show as a broken image. So a linked picture is
forgotten (the writer uploads one instead); ``profile_picture`` from now on only ever
holds the path of a picture this platform serves (``/users/{id}/picture/...``), written
with the upload. Nothing to restore on downgrade: the links are gone.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE users SET profile_picture = '' WHERE profile_picture NOT LIKE '/users/%'")
    )


def downgrade() -> None:
    pass
