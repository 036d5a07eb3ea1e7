"""Searching competitions and entries (kit.search does the searching on either
database; this says what is searched, and what a reader may see of what is found)."""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from litcomp.competitions.models import Competition, Submission
from litcomp.competitions.rules import Veil
from litcomp.competitions.service import get_competitions, veil_of
from litcomp.kit.auth import Principal
from litcomp.kit.search import Page, Searched, search

# Weights as the tsvector's (migration 0014): title > prompt, tags > description > rules.
COMPETITIONS = Searched(
    Competition.__table__,
    headline_of=Competition.prompt + "\n" + Competition.description,
    weights=(10.0, 4.0, 4.0, 2.0, 1.0),
    snippet_column=-1,
)
# Title > content. The author's name is not in what is searched: an anonymous
# entry cannot be found by who wrote it.
ENTRIES = Searched(
    Submission.__table__,
    headline_of=Submission.content,
    weights=(10.0, 2.0),
    snippet_column=2,
)


@dataclass(frozen=True)
class FoundEntry:
    entry: Submission  # its content not loaded
    snippet: str
    competition: Competition
    veil: Veil  # what the reader may not see of it


async def search_competitions(
    *, session: AsyncSession, text: str, limit: int, offset: int
) -> tuple[Page, list[tuple[Competition, str]]]:
    page = await search(
        session, COMPETITIONS, text=text, where=sa.true(), limit=limit, offset=offset
    )
    by_id = {
        c.id: c for c in await get_competitions(session=session, competition_ids=page.hits_ids)
    }
    return page, [(by_id[i], snippet) for i, snippet in page.hits if i in by_id]


async def search_entries(
    *, session: AsyncSession, reader: Principal | None, text: str, limit: int, offset: int
) -> tuple[Page, list[FoundEntry]]:
    """Entries by their title and text; a disqualified one is not found."""
    page = await search(
        session,
        ENTRIES,
        text=text,
        where=Submission.disqualified_at.is_(None),
        limit=limit,
        offset=offset,
    )
    entries = await _entries(session, page.hits_ids)
    competitions = await get_competitions(
        session=session, competition_ids=sorted({e.competition_id for e in entries.values()})
    )
    by_id = {c.id: c for c in competitions}
    found = [
        FoundEntry(
            entries[i],
            snippet,
            by_id[entries[i].competition_id],
            veil_of(by_id[entries[i].competition_id], reader),
        )
        for i, snippet in page.hits
        if i in entries
    ]
    return page, found


async def _entries(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Submission]:
    if not ids:
        return {}
    query = sa.select(Submission).options(defer(Submission.content)).where(Submission.id.in_(ids))
    return {entry.id: entry for entry in await session.scalars(query)}
