"""Full-text search, shared by the services that search their own tables.

PostgreSQL: a stored ``search_vector`` tsvector column (generated from the row, each
field weighted A to D) under a GIN index, queried with ``websearch_to_tsquery`` and
ranked with ``ts_rank``; snippets from ``ts_headline``. SQLite (the embedded default):
an FTS5 table per searched table, ``search_<table>``, kept in step by triggers,
queried with what ``fts5_query`` makes of the same words, ranked with ``bm25``;
snippets from ``snippet``. Both use the English stemmer (Snowball, Porter) and
leave accents alone, so a word finds the same rows on either.

A snippet is marked with two private-use characters, stripped from the text first so
no writer can type one; ``marked_html`` turns it into HTML that is escaped text and
``<mark>`` elements, nothing else.

Ranking every match of a word that half the entries hold would read every vector of
half the table: PostgreSQL ranks the first ``RANKED`` matches the index gives and puts
the rest after them in the index's order (bench/README.md, the ``search`` part, has
what that buys); SQLite, the small embedded default, ranks them all. Both count up to
``CANDIDATES`` matches: ``total_exact`` says whether there were more.
"""

import html
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

CONFIG = "english"  # PostgreSQL's text search configuration
FTS5_TOKENIZER = "porter unicode61 remove_diacritics 0"
QUERY_MAX = 200  # characters of a search
CANDIDATES = 1000  # matches counted at most
RANKED = 200  # PostgreSQL: matches ranked at most
MARK_START = "\ue000"
MARK_END = "\ue001"
SNIPPET_WORDS = 24
HEADLINE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
SEARCH_VECTOR = "search_vector"  # the PostgreSQL column
FTS_PREFIX = "search_"  # the SQLite tables (and FTS5's shadow tables)

_QUOTED_OR_WORD = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Searched:
    """How one table is searched."""

    table: sa.FromClause  # with an ``id`` column
    headline_of: sa.ColumnExpressionArgument[str]  # PostgreSQL: the text the snippet is cut from
    weights: tuple[float, ...]  # SQLite: bm25's weight of each FTS5 column after id
    snippet_column: int  # SQLite: the FTS5 column (id is 0) of the snippet; -1: the best


@dataclass(frozen=True)
class Page:
    hits: list[tuple[uuid.UUID, str]]  # row id, and its snippet as marked_html
    total: int
    total_exact: bool

    @property
    def hits_ids(self) -> list[uuid.UUID]:
        return [row_id for row_id, _ in self.hits]


async def search(
    session: AsyncSession,
    searched: Searched,
    *,
    text: str,
    where: sa.ColumnElement[bool],
    limit: int,
    offset: int,
) -> Page:
    """The rows of ``searched`` that match ``text`` and ``where``, best first."""
    if session.get_bind().dialect.name == "postgresql":
        return await _postgresql(session, searched, text, where, limit, offset)
    query = fts5_query(text)
    if query is None:
        return Page([], 0, True)
    return await _sqlite(session, searched, query, where, limit, offset)


async def _postgresql(
    session: AsyncSession,
    searched: Searched,
    text: str,
    where: sa.ColumnElement[bool],
    limit: int,
    offset: int,
) -> Page:
    table = searched.table
    vector: sa.ColumnElement[object] = sa.literal_column(f"{table.description}.{SEARCH_VECTOR}")
    candidates = (
        sa.select(table.c.id, vector.label("vector"), sa.func.row_number().over().label("found"))
        .where(vector.op("@@")(tsquery(text)), where)
        .limit(CANDIDATES + 1)
        .cte("candidates")
    )
    # CASE evaluates ts_rank (which reads the whole vector) for the first RANKED only.
    rank = sa.case(
        (candidates.c.found <= RANKED, sa.func.ts_rank(candidates.c.vector, tsquery(text))),
        else_=sa.literal(-1.0),
    )
    ranked = sa.select(candidates.c.id, sa.func.count().over()).order_by(
        rank.desc(), candidates.c.found
    )
    rows = (await session.execute(ranked.limit(limit).offset(offset))).all()
    if not rows:
        rows = (await session.execute(ranked.limit(1))).all() if offset else rows
        return _page([], rows)
    snippets: dict[uuid.UUID, str] = dict(
        (
            await session.execute(
                sa.select(table.c.id, headline(searched.headline_of, tsquery(text))).where(
                    table.c.id.in_([row[0] for row in rows])
                )
            )
        ).all()
    )
    return _page([(row[0], snippets.get(row[0], "")) for row in rows], rows)


async def _sqlite(
    session: AsyncSession,
    searched: Searched,
    query: str,
    where: sa.ColumnElement[bool],
    limit: int,
    offset: int,
) -> Page:
    table = searched.table
    fts_name = FTS_PREFIX + table.description
    weights = ", ".join(str(weight) for weight in (0.0, *searched.weights))
    # FTS5's functions work only in a query of its table alone: the join comes after.
    hits = (
        sa.select(
            sa.literal_column("id").label("id"),
            sa.literal_column(
                f"snippet({fts_name}, {searched.snippet_column}, '{MARK_START}', '{MARK_END}',"
                f" '…', {SNIPPET_WORDS})"
            ).label("snippet"),
            sa.literal_column(f"bm25({fts_name}, {weights})").label("rank"),
        )
        .select_from(sa.table(fts_name))
        .where(sa.literal_column(fts_name).op("MATCH")(query))
        .subquery("hits")
    )
    ranked = (
        sa.select(table.c.id, sa.func.count().over(), hits.c.snippet)
        .select_from(hits.join(table, table.c.id == hits.c.id))
        .where(where)
        .order_by(hits.c.rank, table.c.id)
    )
    rows = (await session.execute(ranked.limit(limit).offset(offset))).all()
    if not rows and offset:
        rows = (await session.execute(ranked.limit(1))).all()
        return _page([], rows)
    return _page([(row[0], row[2]) for row in rows], rows)


def _page(hits: list[tuple[uuid.UUID, str]], rows: Sequence[Any]) -> Page:
    """``hits`` with their snippets made safe, and the count the rows carry."""
    found = int(rows[0][1]) if rows else 0
    return Page(
        [(row_id, marked_html(snippet)) for row_id, snippet in hits],
        min(found, CANDIDATES),
        found <= CANDIDATES,
    )


def regconfig() -> sa.ColumnElement[object]:
    return sa.literal_column(f"'{CONFIG}'::regconfig")


def tsquery(text: str) -> sa.ColumnElement[object]:
    """The PostgreSQL query of the words a person typed (never a syntax error)."""
    return sa.func.websearch_to_tsquery(regconfig(), text)


def headline(
    document: sa.ColumnExpressionArgument[str], query: sa.ColumnElement[object]
) -> sa.Function[str]:
    """``ts_headline`` of ``document`` (marker characters removed first) marked for
    ``marked_html``."""
    clean = sa.func.translate(document, MARK_START + MARK_END, "")
    return sa.func.ts_headline(regconfig(), clean, query, HEADLINE_OPTIONS)


def fts5_query(text: str) -> str | None:
    """``text`` read as PostgreSQL's ``websearch_to_tsquery`` reads it (words all
    needed; ``"a phrase"``; ``-word`` left out; ``or`` between alternatives), written
    as an FTS5 query in which every word is a quoted string, so nothing typed is
    FTS5 syntax. None when nothing in it can be searched for (no letter or digit)."""
    alternatives: list[list[str]] = [[]]
    for match in _QUOTED_OR_WORD.finditer(text):
        phrase, word = match.group(1), match.group(2)
        if phrase is None and word.casefold() == "or":
            alternatives.append([])
            continue
        negated = phrase is None and word.startswith("-")
        term = phrase if phrase is not None else word.removeprefix("-")
        if _WORD.search(term):
            quoted = '"' + term.replace('"', '""') + '"'
            alternatives[-1].append(f"NOT {quoted}" if negated else quoted)
    written = [_fts5_all(terms) for terms in alternatives]
    kept = [alternative for alternative in written if alternative]
    return " OR ".join(f"({alternative})" for alternative in kept) or None


def _fts5_all(terms: list[str]) -> str:
    """Terms all needed, the negated ones after (FTS5's NOT is binary: "a NOT b");
    empty when there is no term that is not negated."""
    needed = [term for term in terms if not term.startswith("NOT ")]
    if not needed:
        return ""
    left_out = [term for term in terms if term.startswith("NOT ")]
    return " ".join([" AND ".join(needed), *left_out])


def marked_html(snippet: str) -> str:
    """A marked snippet as HTML: its text escaped, its marked runs in ``<mark>``."""
    escaped = html.escape(snippet, quote=True)
    marked = escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return _balanced(marked)


def _balanced(marked: str) -> str:
    """Close a ``<mark>`` a cut snippet left open, drop a stray ``</mark>``."""
    out: list[str] = []
    open_mark = False
    for part in re.split(r"(</?mark>)", marked):
        if part == "<mark>":
            if open_mark:
                continue
            open_mark = True
        elif part == "</mark>":
            if not open_mark:
                continue
            open_mark = False
        out.append(part)
    if open_mark:
        out.append("</mark>")
    return "".join(out)


def plain(text: str, limit: int = 200) -> str:
    """A snippet of a field without matches: its first ``limit`` characters."""
    clean = text.replace(MARK_START, "").replace(MARK_END, "")
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a schema object is the search's, kept outside the models (by the
    migrations): the PostgreSQL vector columns and the SQLite FTS5 tables."""
    if name is None:
        return False
    if type_ == "column":
        return name == SEARCH_VECTOR
    if type_ == "index":
        return name.endswith("_" + SEARCH_VECTOR)
    return type_ == "table" and name.startswith(FTS_PREFIX)


def sqlite_fts_ddl(table: str, columns: tuple[str, ...]) -> list[str]:
    """The statements that make ``search_<table>``, the FTS5 table of ``table``'s
    ``columns`` (in bm25's weight order), fill it, and keep it in step by triggers.

    Rows are found again by the table's ``id`` (an unindexed column) rather than by
    rowid: SQLite may renumber the rowids of a table without an INTEGER PRIMARY KEY
    (VACUUM, a batch migration's copy). Triggers do not survive a batch migration
    that rebuilds ``table``: such a migration runs these again (they replace what
    was there)."""
    fts = FTS_PREFIX + table
    listed = ", ".join(columns)
    new = ", ".join(f"NEW.{column}" for column in columns)
    return [
        f"DROP TABLE IF EXISTS {fts}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5(id UNINDEXED, {listed}, "
        f"tokenize='{FTS5_TOKENIZER}')",
        f"INSERT INTO {fts} (id, {listed}) SELECT id, {listed} FROM {table}",
        f"DROP TRIGGER IF EXISTS {fts}_insert",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (id, {listed}) VALUES (NEW.id, {new}); END",
        f"DROP TRIGGER IF EXISTS {fts}_update",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {listed} ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE id = OLD.id; "
        f"INSERT INTO {fts} (id, {listed}) VALUES (NEW.id, {new}); END",
        f"DROP TRIGGER IF EXISTS {fts}_delete",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE id = OLD.id; END",
    ]


def sqlite_fts_drop(table: str) -> list[str]:
    fts = FTS_PREFIX + table
    return [f"DROP TRIGGER IF EXISTS {fts}_{event}" for event in ("insert", "update", "delete")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]
