"""Database plumbing shared by the services: engines, a UTC column type, migrations.

Each service owns one database. PostgreSQL (asyncpg) is the real thing; SQLite
(aiosqlite) is the embedded default so the platform starts with no set-up. Code
above this module stays portable between the two.
"""

import dataclasses
import hashlib
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler

from litcomp.kit.search import is_search_object
from litcomp.kit.times import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Raised when the database cannot be reached or is overloaded (Redis's: kit.redis).
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.DBAPIError,
    sa.exc.TimeoutError,  # no pooled connection free in time
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)
# SQLSTATE classes of a server that refuses work for now: connection exception,
# insufficient resources, operator intervention (starting up, shutting down).
_OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57")


def is_outage(error: BaseException) -> bool:
    """Does ``error`` mean "try again later" rather than "this request is wrong"?

    The database's errors only: Redis's are ``kit.redis.is_outage``'s.
    """
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return error.connection_invalidated or str(sqlstate)[:2] in _OUTAGE_SQLSTATE_CLASSES
    return isinstance(error, OUTAGE_ERRORS)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps the zone itself; SQLite has no zone, so values are stored as
    naive UTC and made aware again on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.driver == "asyncpg":
            return None  # it reads a timestamptz as aware UTC already: a call a value saved
        return super().result_processor(dialect, coltype)


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # A request waits for a pooled connection rather than open one of its own: under
    # load, connections opened past the pool's size were closed as soon as they were
    # given back, and connecting cost a replica more CPU than the queries it served.
    engine = create_async_engine(
        url,
        pool_size=20,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 15},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection the server has closed (a restart, a failover).

    Instead of SQLAlchemy's ``pool_pre_ping``, which on asyncpg pings in a transaction
    of its own (BEGIN, a query, ROLLBACK: three round trips per checkout, more than most
    requests' own). asyncpg notices a closed connection when the event loop reads its
    end, so this costs no round trip; the pool answers the error by connecting again.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, say when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A transaction that will write takes SQLite's write lock when it starts, not at
    # its first write: read-then-write rules (the entry limit) then hold between
    # processes as they do on PostgreSQL with SELECT ... FOR UPDATE, and it cannot
    # fail halfway on a lock it cannot upgrade. Read-only ones stay concurrent.
    writes = connection.get_execution_options().get(_WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


_WRITES = "litcomp_writes"


def create_sessionmaker(
    engine: AsyncEngine, *, read_only: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that may write (the default), or that only reads.

    On SQLite a reading session's transaction does not take the write lock (see
    _sqlite_begin). On PostgreSQL it is no transaction at all: under READ COMMITTED
    every statement takes its own snapshot whether or not a BEGIN came first, so the
    BEGIN and ROLLBACK around a read would be two round trips for nothing.
    """
    if not read_only:
        bind = engine.execution_options(**{_WRITES: True})
    elif engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    else:
        bind = engine
    return async_sessionmaker(bind, expire_on_commit=False)


def upsert(session: AsyncSession, model: type[DeclarativeBase] | sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the session's dialect (both have it)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


async def insert_ignore(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> bool:
    """INSERT a row unless it would break a unique constraint; True if it was inserted."""
    statement = upsert(session, model).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def id_page(
    session: AsyncSession,
    column: InstrumentedAttribute[uuid.UUID],
    where: sa.ColumnElement[bool],
    *,
    page_size: int,
    after: uuid.UUID | None,
    most: int,
) -> tuple[list[uuid.UUID], uuid.UUID | None]:
    """One page of the ids in ``column`` of the rows ``where`` selects, in id order
    (``page_size`` of them, at most ``most``), and the id to continue after (None at
    the end): keyset paging, as fast on the last page as on the first."""
    size = page_size if 0 < page_size <= most else most
    query = sa.select(column).where(where)
    if after is not None:
        query = query.where(column > after)
    ids = list(await session.scalars(query.order_by(column).limit(size + 1)))
    return ids[:size], ids[size - 1] if len(ids) > size else None


def columns(
    model: type[DeclarativeBase],
    row: type[Any],
    **computed: sa.ColumnElement[Any] | InstrumentedAttribute[Any],
) -> tuple[sa.ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    """What to select for ``row``, a dataclass read from ``model``'s table: its column
    of each of ``row``'s fields, in their order (``computed`` names those that are not
    ``model``'s columns: expressions, another table's), so ``row(*selected)`` cannot
    take a value for the wrong field."""
    return tuple(
        computed[name] if name in computed else getattr(model, name)
        for name in (field.name for field in dataclasses.fields(row))
    )


async def run(
    session: AsyncSession,
    statement: sa.Executable,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> sa.CursorResult[*tuple[Any, ...]]:
    """A statement that loads no ORM object (columns, an INSERT of a table's rows, SQL
    text), run on the session's connection in its transaction (with a list of
    ``params``, once for each, as SQLAlchemy's executemany): the ORM's own way to
    execute (its compile state, its result processing) costs ~100 us a statement that
    loads no object. What the session has pending is flushed first, so the statement
    sees it (the ORM flushes before its own statements, not before SQL text or a
    table's)."""
    connection = await _connection(session)
    return await connection.execute(statement, params)


async def rows(
    session: AsyncSession, statement: "sa.Executable | Prepared", params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of a statement that selects columns (see ``run`` and ``Prepared``), each
    a sequence of its values: by position, not by name."""
    connection = await _connection(session)
    if isinstance(statement, Prepared):
        driver = await _driver_in_step(connection)
        if driver is not None:
            return await statement.read(driver, connection.dialect, params)
        statement = statement.statement
    return (await connection.execute(statement, params)).all()


async def _connection(session: AsyncSession) -> AsyncConnection:
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return await session.connection()


async def _driver_in_step(connection: AsyncConnection) -> Any:
    """The asyncpg connection under ``connection``, if a statement sent on it directly
    runs where SQLAlchemy would run it: in autocommit (reading sessions), or in the
    transaction SQLAlchemy has begun. SQLAlchemy begins one with its first statement,
    so a transaction's first statement goes through SQLAlchemy (None here)."""
    if connection.dialect.driver != "asyncpg":
        return None
    raw = await connection.get_raw_connection()
    if raw.dbapi_connection is None:
        return None
    driver: Any = raw.driver_connection
    return driver if raw.dbapi_connection.autocommit or driver.is_in_transaction() else None


@dataclasses.dataclass(frozen=True)
class _Compiled:
    dialect: Dialect  # of the engine it was compiled for
    sql: str
    compiled: SQLCompiler  # what puts together each run's values
    names: tuple[str, ...]  # of the bind parameters, in the order the SQL numbers them
    binds: tuple[Callable[[Any], Any] | None, ...]  # SQLAlchemy's processing of each
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # and of the columns it processes


class Prepared:
    """A SELECT of columns built once (at import) that hot paths read with ``rows``.

    On asyncpg it is compiled once and its rows are read by asyncpg directly, with the
    bind and result processing SQLAlchemy's own execution applies: its dialect hands
    asyncpg the processed values and processes what asyncpg returns, nothing else.
    SQLAlchemy's execution around a statement (its context, the DBAPI cursor it
    emulates over asyncpg, its result objects) cost ~120 us of CPU a statement in a
    serial loop, as much as asyncpg's own (bench/README.md, floor). Elsewhere (SQLite),
    and as a transaction's first statement, it runs as any statement does. Errors are
    raised as SQLAlchemy raises them (``_as_sqlalchemy_error``), so handlers and
    ``is_outage`` treat both ways alike. What SQLAlchemy's execution adds is not applied
    on asyncpg: its cursor events and ``echo`` do not see these reads, execution options
    do not reach them, and a connection lost under one is not invalidated then (the
    pool's checkout refuses it next time, see ``_refuse_closed``).
    """

    def __init__(self, statement: sa.Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    async def read(
        self, driver: Any, dialect: Dialect, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Its rows, read on ``driver`` (an asyncpg connection), ``params`` bound."""
        compiled = self._compiled
        try:
            if compiled is None or compiled.dialect is not dialect:
                compiled = self._compiled = await self._compile(driver, dialect)
            values = compiled.compiled.construct_params(params)
            bound = [
                value if bind is None else bind(value)
                for value, bind in zip(
                    (values[name] for name in compiled.names), compiled.binds, strict=True
                )
            ]
            records = await driver.fetch(compiled.sql, *bound)
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as error:
            sql = compiled.sql if compiled else str(self.statement)
            raise _as_sqlalchemy_error(error, sql, params) from error
        if not compiled.results:
            return [tuple(record) for record in records]
        return [_processed(record, compiled.results) for record in records]

    async def _compile(self, driver: Any, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        per_run = compiled.post_compile_params or compiled.literal_execute_params
        if per_run or compiled.escaped_bind_names or compiled.positiontup is None:
            raise ValueError(f"its SQL is rendered anew for each run's values: {compiled}")
        names = tuple(compiled.positiontup)
        # A column's processing can depend on the type the server sends (a numeric's
        # precision): SQLAlchemy asks the prepared statement, as here, once.
        attributes = (await driver.prepare(compiled.string)).get_attributes()
        columns = zip(self.statement.selected_columns, attributes, strict=True)
        results = (
            column.type.dialect_impl(dialect).result_processor(dialect, attribute.type.oid)
            for column, attribute in columns
        )
        return _Compiled(
            dialect=dialect,
            sql=compiled.string,
            compiled=compiled,
            names=names,
            binds=tuple(
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            ),
            results=tuple((n, result) for n, result in enumerate(results) if result is not None),
        )


def _processed(
    record: Sequence[Any], results: tuple[tuple[int, Callable[[Any], Any]], ...]
) -> tuple[Any, ...]:
    row = list(record)
    for n, result in results:
        row[n] = result(row[n])
    return tuple(row)


# The kinds of SQLAlchemy's DBAPIError it raises for asyncpg's errors (its asyncpg
# dialect's translation, the first that matches); any other is a DBAPIError. The
# asyncpg error is the ``orig`` (SQLAlchemy's wraps it), with the same ``sqlstate``.
_ERROR_KINDS: tuple[tuple[type[Exception], type[sa.exc.DBAPIError]], ...] = (
    (asyncpg.InvalidCachedStatementError, sa.exc.NotSupportedError),
    (asyncpg.IntegrityConstraintViolationError, sa.exc.IntegrityError),
    (asyncpg.SyntaxOrAccessError, sa.exc.ProgrammingError),
    (asyncpg.InternalServerError, sa.exc.InternalError),
    (asyncpg.InternalClientError, sa.exc.InternalError),
    (asyncpg.InterfaceError, sa.exc.InterfaceError),
)


def _as_sqlalchemy_error(
    error: Exception, sql: str, params: Mapping[str, Any]
) -> sa.exc.DBAPIError:
    kind = next((k for e, k in _ERROR_KINDS if isinstance(error, e)), sa.exc.DBAPIError)
    return kind(sql, dict(params), error)


def _selects_objects(query: sa.Select[*tuple[Any, ...]]) -> bool:
    # An entity's description has its mapped class as its type, a column's a TypeEngine.
    return any(isinstance(column["type"], type) for column in query.column_descriptions)


class CountedQuery:
    """A query's pages, each with how many rows the whole result has, in one statement:
    the count is a window over the whole result, taken before LIMIT and OFFSET. Only a
    page past the end, with no row to carry it, asks again. Build one once, at import,
    where the query allows (its varying values as bind parameters): a statement built
    once has its cache key computed once too, and a ``prepared`` one (of columns) its
    pages read as ``Prepared``'s."""

    def __init__(self, query: sa.Select[*tuple[Any, ...]], *, prepared: bool = False) -> None:
        page = (
            query.add_columns(sa.func.count().over())
            .limit(sa.bindparam("page_limit"))
            .offset(sa.bindparam("page_offset"))
        )
        self._objects = _selects_objects(query)
        if prepared and self._objects:
            raise ValueError("only a query of columns is read as Prepared")
        self._page: sa.Select[*tuple[Any, ...]] | Prepared = Prepared(page) if prepared else page
        self._count = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())

    async def page(
        self, session: AsyncSession, *, limit: int, offset: int, **params: Any
    ) -> tuple[list[tuple[Any, ...]], int]:
        """The rows (each without the count) and the count, ``params`` bound."""
        paged = {**params, "page_limit": limit, "page_offset": offset}
        found: Sequence[Sequence[Any]]
        if self._objects:
            assert not isinstance(self._page, Prepared)
            found = (await session.execute(self._page, paged)).all()
        else:
            found = await rows(session, self._page, paged)
        if found:
            return [tuple(row[:-1]) for row in found], found[0][-1]
        if offset == 0:
            return [], 0
        return [], await session.scalar(self._count, params) or 0


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))


async def migrate(engine: AsyncEngine, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the database to the newest revision in ``migrations_dir`` (or to
    ``revision``, for tests of what a migration does to data).

    On PostgreSQL a transaction-scoped advisory lock makes replicas that start
    together take turns, so each migration runs exactly once.

    On SQLite foreign keys are off while migrations run: a batch migration rebuilds a
    table (copy, DROP, rename), and with them on the DROP would delete every row that
    refers to it, by cascade. SQLite ignores the pragma inside a transaction, so it is
    set on the driver's connection around it; the keys are checked once it is done.
    """
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await connection.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=OFF")
        try:
            async with connection.begin():
                if not sqlite:
                    key = int.from_bytes(
                        hashlib.sha256(migrations_dir.parent.name.encode()).digest()[:7]
                    )
                    await connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key}
                    )
                await connection.run_sync(_upgrade, migrations_dir, revision)
                if sqlite:
                    broken = await connection.run_sync(_sqlite_pragma, "PRAGMA foreign_key_check")
                    if broken:
                        raise RuntimeError(f"migrations left rows breaking foreign keys: {broken}")
        finally:
            if sqlite:
                await connection.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str, /) -> list[Any]:
    """Run ``pragma`` on the driver's connection, outside SQLAlchemy's transaction."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(pragma)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _upgrade(connection: Connection, migrations_dir: Path, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def outside_search(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's ``include_name``: what the search keeps beside the models is not theirs."""
    return not is_search_object(name, type_)


def run_alembic_env(metadata: sa.MetaData) -> None:
    """The body of each service's ``migrations/env.py``: migrate on the given connection."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        include_name=outside_search,
    )
    with context.begin_transaction():
        context.run_migrations()
