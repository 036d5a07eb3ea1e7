"""kit.db.Prepared: the hot reads' statements read by asyncpg directly on PostgreSQL
give exactly what SQLAlchemy's execution gives (values and their types), run in the
session's transaction or autocommit as SQLAlchemy would, and fail as SQLAlchemy fails."""

import asyncio
import inspect
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.ext.asyncio import AsyncEngine

from litcomp.competitions import service
from litcomp.competitions.models import Comment, Competition, Like, Read, Submission
from litcomp.kit.db import (
    CountedQuery,
    Prepared,
    _as_sqlalchemy_error,
    create_sessionmaker,
    is_outage,
    rows,
    run,
)
from litcomp.kit.times import utcnow
from tests.integration.conftest import Sessions


def _tagged(title: str, starts: timedelta, ends: timedelta, voted: timedelta) -> Competition:
    now = utcnow()
    return Competition(
        title=title,
        admin_id=uuid.uuid4(),
        start_date=now + starts,
        end_date=now + ends,
        voting_end_date=now + voted,
        tags=["flash"],
    )


async def _scene(sessions: Sessions) -> dict[str, Any]:
    """An open, tagged competition with an entry that a reader liked and read, and two
    comments (one a reply, edited), beside tagged ones in each other phase: the
    parameters every hot read takes, bound to them."""
    now = utcnow()
    day = timedelta(days=1)
    reader, author = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session:
        session.add_all(
            [
                _tagged("Upcoming", day, 2 * day, 3 * day),
                _tagged("Voting", -2 * day, -day, day),
                _tagged("Finished", -3 * day, -2 * day, -day),
            ]
        )
        competition = Competition(
            title="Prepared ☃ «quotes»",
            admin_id=uuid.uuid4(),
            start_date=now - timedelta(days=1),
            end_date=now + timedelta(days=1),
            voting_end_date=now + timedelta(days=2),
            tags=["flash", "ünïcode"],
            word_max=500,
        )
        session.add(competition)
        await session.flush()
        entry = Submission(
            competition_id=competition.id,
            author_id=author,
            title="An entry",
            content="Some words here.",
            content_html="<p>Some words here.</p>",
        )
        session.add(entry)
        await session.flush()
        first = Comment(submission_id=entry.id, author_id=reader, content="One", content_html="1")
        session.add(first)
        await session.flush()
        session.add(
            Comment(
                submission_id=entry.id,
                author_id=author,
                parent_id=first.id,
                content="Two",
                content_html="2",
                edited_at=now,
            )
        )
        session.add_all(
            [
                Like(submission_id=entry.id, user_id=reader),
                Read(user_id=reader, submission_id=entry.id),
            ]
        )
        await session.commit()
    return {
        "competition_id": competition.id,
        "submission_id": entry.id,
        "reader_id": reader,
        "author_id": author,
        "parent_id": None,
        "now": now,
        "tag": "flash",
        "page_limit": 10,
        "page_offset": 0,
    }


def _typed(found: Sequence[Sequence[Any]]) -> list[list[tuple[type, Any]]]:
    return [[(type(value), value) for value in row] for row in found]


def _prepared_reads() -> Iterator[tuple[str, Prepared]]:
    """Every Prepared of the competitions service: its own, and its prepared pages'."""
    for name, value in vars(service).items():
        if isinstance(value, Prepared):
            yield name, value
    counted: dict[str, CountedQuery] = {
        **{f"entries {key}": pages for key, pages in service._ENTRY_PAGES.items()},
        **{
            f"listing {status} tagged={tagged}": service._listing(
                status, tagged=tagged, postgres=True
            )
            for status in service._LISTINGS
            for tagged in (False, True)
        },
    }
    for name, pages in counted.items():
        assert isinstance(pages._page, Prepared), name  # the statement page() reads
        yield name, pages._page


@pytest.fixture
def sent(competitions_engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements that went through SQLAlchemy's execution (not asyncpg directly)."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(competitions_engine.sync_engine, "before_cursor_execute", note)
    yield statements
    event.remove(competitions_engine.sync_engine, "before_cursor_execute", note)


async def test_each_hot_read_reads_what_sqlalchemy_reads(
    competitions_engine: AsyncEngine, competitions_sessions: Sessions, sent: list[str]
) -> None:
    params = await _scene(competitions_sessions)
    reads = create_sessionmaker(competitions_engine, read_only=True)
    prepared = dict(_prepared_reads())
    assert len(prepared) >= 15
    for name, statement in prepared.items():
        async with reads() as session:
            by_sqlalchemy = await rows(session, statement.statement, params)
            sent.clear()
            by_driver = await rows(session, statement, params)
            assert sent == [], name  # asyncpg read it, not SQLAlchemy
        assert by_driver, name  # the scene gives each a row to compare
        assert _typed(by_driver) == _typed(by_sqlalchemy), name


async def test_a_transaction_s_statements_after_its_first_are_read_in_it(
    competitions_sessions: Sessions, sent: list[str]
) -> None:
    """SQLAlchemy begins a transaction with its first statement, so that one goes
    through SQLAlchemy; a prepared read after it sees what the transaction wrote, and a
    rollback takes it back."""
    params = await _scene(competitions_sessions)
    entries = sa.insert(Submission)
    count = Prepared(
        sa.select(sa.func.count()).where(
            Submission.competition_id == sa.bindparam("competition_id")
        )
    )
    async with competitions_sessions() as session:
        sent.clear()
        assert await rows(session, count, params) == [(1,)]
        assert len(sent) == 1  # the first: through SQLAlchemy, with its BEGIN
        another = {
            "id": uuid.uuid4(),
            "competition_id": params["competition_id"],
            "author_id": uuid.uuid4(),
            "title": "Uncommitted",
            "content": "x",
        }
        await run(session, entries, another)
        sent.clear()
        assert await rows(session, count, params) == [(2,)]
        assert sent == []
        await session.rollback()
    async with competitions_sessions() as session:
        assert await rows(session, count, params) == [(1,)]


async def test_on_either_database_a_prepared_read_reads_as_its_statement(
    sessions: Sessions,
) -> None:
    params = await _scene(sessions)
    statement = service._SHOWN_COMPETITION
    async with sessions() as session:
        found = await rows(session, statement, params)
        assert _typed(found) == _typed(await rows(session, statement.statement, params))
    assert found[0][1] == "Prepared ☃ «quotes»"


async def test_errors_are_what_sqlalchemy_raises(competitions_engine: AsyncEngine) -> None:
    reads = create_sessionmaker(competitions_engine, read_only=True)
    divided = Prepared(sa.select(sa.literal(1) / sa.bindparam("by", type_=sa.Integer)))
    failures = []
    for statement in (divided, divided.statement):
        async with reads() as session:
            with pytest.raises(sa.exc.DBAPIError) as raised:
                await rows(session, statement, {"by": 0})
        failures.append((type(raised.value), is_outage(raised.value)))
    assert failures[0] == failures[1] == (sa.exc.DBAPIError, False)


async def test_a_connection_the_server_closed_is_an_outage(
    competitions_engine: AsyncEngine, competitions_sessions: Sessions
) -> None:
    params = await _scene(competitions_sessions)
    reads = create_sessionmaker(competitions_engine, read_only=True)
    async with reads() as session:
        connection = await (await session.connection()).get_raw_connection()
        pid = connection.driver_connection.get_server_pid()  # type: ignore[union-attr]
        async with competitions_engine.connect() as other:
            await other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)  # the driver reads the server's goodbye
        with pytest.raises(sa.exc.InterfaceError) as raised:
            await rows(session, service._SHOWN_COMPETITION, params)
    assert is_outage(raised.value)
    async with reads() as session:  # the pool gives out a connection that works
        assert len(await rows(session, service._SHOWN_COMPETITION, params)) == 1


@pytest.mark.parametrize(
    "where",
    [
        Competition.id.in_(sa.bindparam("ids", expanding=True)),
        Competition.title == sa.bindparam("ids", literal_execute=True),
        Competition.title == sa.bindparam("a.b"),  # a name SQLAlchemy escapes
    ],
    ids=["expanding", "literal", "escaped"],
)
async def test_a_statement_rendered_anew_for_each_run_is_refused(
    competitions_engine: AsyncEngine, where: sa.ColumnElement[bool]
) -> None:
    listed = Prepared(sa.select(Competition.id).where(where))
    reads = create_sessionmaker(competitions_engine, read_only=True)
    async with reads() as session:
        with pytest.raises(ValueError, match="rendered anew"):
            await rows(session, listed, {"ids": ["x"], "a.b": "x"})


def _asyncpg_errors() -> list[type[Exception]]:
    bases = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    members = inspect.getmembers(asyncpg.exceptions, inspect.isclass)
    return [kind for _, kind in members if issubclass(kind, bases)]  # type: ignore[misc]


def test_each_asyncpg_error_is_the_sqlalchemy_error_sqlalchemy_raises() -> None:
    """Against SQLAlchemy's own translation (its asyncpg dialect's, then its wrapping)."""
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]
    translations = dbapi._asyncpg_error_translate
    kinds = _asyncpg_errors()
    assert len(kinds) > 200
    for kind in kinds:
        error = kind("failed")
        translated = next(translations[k] for k in kind.__mro__ if k in translations)
        by_sqlalchemy = sa.exc.DBAPIError.instance(
            "SELECT", {}, translated("failed", error), dbapi.Error
        )
        ours = _as_sqlalchemy_error(error, "SELECT", {})
        assert type(ours) is type(by_sqlalchemy), kind
        assert ours.orig is error
