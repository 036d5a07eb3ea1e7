"""The statements that lock a competition's row while an entry is reacted to, as
PostgreSQL receives them: finalizing locks the row for update, so it waits for the likes,
comments and scores in flight (see service.competition_allowing). SQLite has no row
locks; its write transactions take the database's lock at BEGIN (see kit.db)."""

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from litcomp.competitions import service


@pytest.mark.parametrize(
    "statement",
    [service._ENTRY_AND_COMPETITION, service._ENTRY_COMPETITION_AND_PARENT],
    ids=["entry", "entry and a reply's parent"],
)
def test_a_reaction_key_share_locks_its_competitions_row_and_no_other(
    statement: sa.Select[tuple[object, ...]],
) -> None:
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert sql.endswith("FOR KEY SHARE OF competitions")
