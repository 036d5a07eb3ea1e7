"""``GET /search``: competitions and entries from this service's database, writers
from the users service over gRPC, in one answer shape (see docs/architecture.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from litcomp.competitions.schemas import Author
from litcomp.competitions.search import service
from litcomp.competitions.search.schemas import (
    SearchItem,
    SearchLimit,
    SearchOffset,
    SearchPage,
    SearchText,
    SearchType,
)
from litcomp.competitions.service import status_of
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.http import MaybeUser, SessionDep, error_responses, from_state

UsersDep = Annotated[UsersClient, Depends(from_state("users"))]

router = APIRouter(tags=["search"])


@router.get("/search", responses=error_responses(503))
async def search(
    q: SearchText,
    session: SessionDep,
    users: UsersDep,
    me: MaybeUser,
    type_: Annotated[SearchType, Query(alias="type")] = "entries",
    limit: SearchLimit = 20,
    offset: SearchOffset = 0,
) -> SearchPage:
    """Competitions (by title, prompt and tags, description, rules), entries (by title
    and text; an anonymous competition's show no author until its results, and a
    disqualified entry is not found) or writers (by username and bio), best match
    first. Each item's ``snippet`` is safe HTML: escaped text and ``<mark>``."""
    if type_ == "writers":
        await session.close()  # nothing to read here
        found = await users.search_writers(q, limit=limit, offset=offset)
        items = [
            SearchItem(type="writers", id=u.user_id, title=u.username, snippet=u.snippet)
            for u in found.users
        ]
        return SearchPage(
            items=items,
            total=found.total,
            total_exact=found.total_exact,
            limit=limit,
            offset=offset,
        )
    if type_ == "competitions":
        page, competitions = await service.search_competitions(
            session=session, text=q, limit=limit, offset=offset
        )
        items = [
            SearchItem(
                type="competitions",
                id=c.id,
                title=c.title,
                snippet=snippet,
                status=status_of(c),
            )
            for c, snippet in competitions
        ]
    else:
        page, entries = await service.search_entries(
            session=session, reader=me, text=q, limit=limit, offset=offset
        )
        await session.close()  # give the connection back before calling another service
        shown = {f.entry.author_id for f in entries if not f.veil.hides_author(f.entry.author_id)}
        names = await users.usernames(shown)
        items = [
            SearchItem(
                type="entries",
                id=f.entry.id,
                title=f.entry.title,
                snippet=f.snippet,
                competition_id=f.entry.competition_id,
                competition_title=f.competition.title,
                author=None
                if f.veil.hides_author(f.entry.author_id)
                else Author(user_id=f.entry.author_id, username=names.get(f.entry.author_id)),
            )
            for f in entries
        ]
    return SearchPage(
        items=items, total=page.total, total_exact=page.total_exact, limit=limit, offset=offset
    )
