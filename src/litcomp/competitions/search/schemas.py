"""The answer of ``GET /search``."""

import uuid
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from litcomp.competitions.rules import Status
from litcomp.competitions.schemas import Author
from litcomp.kit.schemas import Storable
from litcomp.kit.search import CANDIDATES, QUERY_MAX

SearchType = Literal["competitions", "entries", "writers"]
SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=QUERY_MAX,
        description='Words, all needed; "a phrase"; -word to leave out; or between'
        " alternatives (PostgreSQL's websearch syntax, on either database)",
    ),
    Storable(blank=False),
]
SearchLimit = Annotated[int, Query(ge=1, le=50)]
SearchOffset = Annotated[int, Query(ge=0, le=CANDIDATES)]
SNIPPET = (
    "HTML: the text around the matches, escaped, the matched words in <mark> elements"
    " and no other markup"
)


class SearchItem(BaseModel):
    type: SearchType
    id: uuid.UUID = Field(description="competition_id, submission_id or user_id")
    title: str = Field(description="a writer's: their username")
    snippet: str = Field(description=SNIPPET)
    competition_id: uuid.UUID | None = Field(default=None, description="an entry's competition")
    competition_title: str | None = Field(default=None, description="an entry's competition's")
    author: Author | None = Field(
        default=None, description="an entry's, while its competition does not hide it"
    )
    status: Status | None = Field(default=None, description="a competition's phase")


class SearchPage(BaseModel):
    items: list[SearchItem]
    total: int = Field(description=f"matches counted up to {CANDIDATES}")
    total_exact: bool = Field(description=f"false when more than {CANDIDATES} match")
    limit: int
    offset: int
