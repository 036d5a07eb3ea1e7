"""Counting the statements a piece of work sends to the database."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from litcomp.kit.db import Prepared


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent meanwhile: those through SQLAlchemy's execution, and those a
    ``kit.db.Prepared`` reads by asyncpg directly, which SQLAlchemy does not see."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    read = Prepared.read

    async def read_and_record(
        prepared: Prepared, driver: Any, dialect: Dialect, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        statements.append(str(prepared.statement))
        return await read(prepared, driver, dialect, params)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        with mock.patch.object(Prepared, "read", read_and_record):
            yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
