"""Request and response bodies of the competitions API (field names are the seed's contract)."""

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from litcomp.competitions.rules import EXCERPT_CHARS, Status, check_dates
from litcomp.kit.schemas import Input, Storable
from litcomp.kit.times import Instant

TITLE_MAX = 200
CONTENT_MAX = 200_000


# Text is stored exactly as sent: it is checked, never trimmed or rewritten.
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX), Storable(blank=False)]
Content = Annotated[str, Field(min_length=1, max_length=CONTENT_MAX), Storable(blank=False)]
CommentText = Annotated[str, Field(min_length=1, max_length=10_000), Storable(blank=False)]
Description = Annotated[str, Field(max_length=10_000), Storable()]
MaxEntries = Annotated[int, Field(ge=1, le=100)]


class CompetitionCreate(Input):
    title: Title
    description: Description = ""
    start_date: Instant
    end_date: Instant
    max_entries_per_user: MaxEntries = 1

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        check_dates(start=self.start_date, end=self.end_date)
        return self


class CompetitionUpdate(Input):
    title: Title | None = None
    description: Description | None = None
    start_date: Instant | None = None
    end_date: Instant | None = None
    max_entries_per_user: MaxEntries | None = None


class CompetitionSummary(BaseModel):
    competition_id: uuid.UUID
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    status: Status


class CompetitionDetails(CompetitionSummary):
    admin_id: uuid.UUID
    max_entries_per_user: int
    created_at: datetime


class SubmissionCreate(Input):
    title: Title
    content: Content


class SubmissionCreated(BaseModel):
    submission_id: uuid.UUID
    message: str = "Submission successful"


class Author(BaseModel):
    user_id: uuid.UUID
    username: str | None = Field(
        description="null when the users service cannot be reached or knows no such user"
    )


class SubmissionSummary(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    excerpt: str = Field(description=f"The first {EXCERPT_CHARS} characters of the content")
    author: Author
    likes: int
    created_at: datetime


class SubmissionPage(BaseModel):
    items: list[SubmissionSummary]
    total: int
    limit: int
    offset: int


class CommentCreate(Input):
    content: CommentText
    parent_id: uuid.UUID | None = Field(None, description="The comment this one replies to")


class CommentCreated(BaseModel):
    comment_id: uuid.UUID
    message: str = "Comment added"


class CommentThread(BaseModel):
    comment_id: uuid.UUID
    parent_id: uuid.UUID | None
    author: Author
    content: str
    created_at: datetime
    replies: list["CommentThread"]


class SubmissionDetails(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    content: str
    author: Author
    likes: int
    liked_by_me: bool = Field(description="false when the request carries no token")
    created_at: datetime
    comments: list[CommentThread]


class ResultEntry(BaseModel):
    place: int
    submission_id: uuid.UUID
    title: str
    author_id: uuid.UUID
    likes: int
