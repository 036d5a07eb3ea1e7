"""Request and response bodies of the competitions API (field names are the seed's contract)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from litcomp.competitions.rules import BALLOT_MIN, EXCERPT_CHARS, Judging, Schedule, Status
from litcomp.kit.http import ArrayLimit, Offset
from litcomp.kit.schemas import Input, Patch, Storable, Unset
from litcomp.kit.times import Instant

TITLE_MAX = 200
CONTENT_MAX = 200_000


# Text is stored exactly as sent: it is checked, never trimmed or rewritten.
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX), Storable(blank=False)]
MARKDOWN = "Markdown (CommonMark), stored exactly as sent"
Content = Annotated[
    str,
    Field(min_length=1, max_length=CONTENT_MAX, description=MARKDOWN),
    Storable(blank=False),
]
CommentText = Annotated[
    str, Field(min_length=1, max_length=10_000, description=MARKDOWN), Storable(blank=False)
]
Description = Annotated[str, Field(max_length=10_000), Storable()]
MaxEntries = Annotated[int, Field(ge=1, le=100)]
Prompt = Annotated[str, Field(max_length=2_000), Storable()]
Rules = Annotated[str, Field(max_length=10_000), Storable()]
TAG_MAX = 32


def fold_tag(tag: str) -> str:
    """Tags compare without case or surrounding space: "Horror " is "horror"."""
    return tag.strip().casefold()


def _folded(tag: str) -> str:
    folded = fold_tag(tag)
    if len(folded) > TAG_MAX:  # casefold can lengthen: "ß" is "ss"
        raise ValueError(f"must have at most {TAG_MAX} characters once case-folded")
    return folded


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tag = Annotated[
    str, Field(min_length=1, max_length=TAG_MAX), Storable(blank=False), AfterValidator(_folded)
]
Tags = Annotated[list[Tag], Field(max_length=10), AfterValidator(_distinct)]
# A tag to filter by: one that case-folds longer than a tag may be finds none (not 422).
TagFilter = Annotated[str, Field(min_length=1, max_length=TAG_MAX), Storable(blank=False)]
StatusFilter = Literal["active", "open", "upcoming", "voting", "finished", "all"]


class CompetitionListing(BaseModel):
    """The query of GET /competitions (see kit.http.QueryModel)."""

    status: Annotated[
        StatusFilter,
        Field(
            description="active (the default) or open: open for entries now; upcoming, voting,"
            " finished: in that phase; all"
        ),
    ] = "active"
    limit: ArrayLimit = 100
    offset: Offset = 0
    tag: Annotated[TagFilter | None, Field(description="only those with this tag (any case)")] = (
        None
    )


WordLimit = Annotated[int, Field(ge=1, le=100_000, description="null: no limit")]
JudgingMode = Annotated[
    Judging,
    Field(
        description="What places the entries: likes; judges' mean scores (1-10); or readers'"
        " ranked ballots (Bradley-Terry). Fixed once voting starts"
    ),
]
Anonymous = Annotated[
    bool,
    Field(
        description="Authors (to all but themselves and admins) and like counts (to everyone)"
        " are hidden until the results, then revealed"
    ),
]
VotingEnd = Annotated[
    Instant,
    Field(description="When voting ends; without it, likes come while entries do"),
]


def check_word_limits(word_min: int | None, word_max: int | None) -> None:
    if word_min is not None and word_max is not None and word_min > word_max:
        raise ValueError("word_min must not be more than word_max")


WordCount = Annotated[
    int,
    Field(
        ge=0,
        description="Words of letters and digits; each CJK ideograph or kana is one"
        " (litcomp.competitions.words)",
    ),
]
ContentHtml = Annotated[
    str,
    Field(
        description="The content rendered from Markdown (CommonMark, line breaks kept) and"
        " sanitized: only p, br, hr, em, strong, h1-h6, blockquote, ul, ol, li, code, pre"
        " and a (http, https and mailto links); typed HTML shows as text, images as their"
        " alt text"
    ),
]


class CompetitionCreate(Input):
    title: Title
    description: Description = ""
    start_date: Instant
    end_date: Instant
    voting_end_date: VotingEnd | None = None
    max_entries_per_user: MaxEntries = 1
    prompt: Prompt = ""
    rules: Rules = ""
    tags: Tags = Field(default_factory=list)
    word_min: WordLimit | None = None
    word_max: WordLimit | None = None
    comments_after_results: bool = True
    anonymous: Anonymous = False
    judging: JudgingMode = Judging.LIKES

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        Schedule(self.start_date, self.end_date, self.voting_end_date).check()
        check_word_limits(self.word_min, self.word_max)
        return self


class CompetitionUpdate(Patch):
    clearable = frozenset({"voting_end_date", "word_min", "word_max"})

    title: Title | Unset = None
    description: Description | Unset = None
    start_date: Instant | Unset = None
    end_date: Instant | Unset = None
    voting_end_date: VotingEnd | None = None
    max_entries_per_user: MaxEntries | Unset = None
    prompt: Prompt | Unset = None
    rules: Rules | Unset = None
    tags: Tags | Unset = None
    word_min: WordLimit | None = None
    word_max: WordLimit | None = None
    comments_after_results: bool | Unset = None
    anonymous: Anonymous | Unset = None
    judging: JudgingMode | Unset = None


class CompetitionSummary(BaseModel):
    competition_id: uuid.UUID
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None
    status: Status
    tags: list[str]
    word_min: int | None
    word_max: int | None
    anonymous: Anonymous
    judging: JudgingMode


class CompetitionDetails(CompetitionSummary):
    admin_id: uuid.UUID
    max_entries_per_user: int
    prompt: str
    rules: str
    comments_after_results: bool
    created_at: datetime


class SubmissionCreate(Input):
    title: Title
    content: Content


class SubmissionEdit(Patch):
    """What the author changes: the title, the content, or both."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    title: Title | Unset = None
    content: Content | Unset = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send a title, a content, or both")
        return self


class DraftSave(Input):
    """An unfinished entry, saved as typed: either may be empty, and no word limit
    applies (the request's size limit does)."""

    title: Annotated[str, Storable()] = ""
    content: Annotated[str, Storable()] = ""


class Draft(BaseModel):
    competition_id: uuid.UUID
    title: str
    content: str
    content_html: ContentHtml
    saved_at: datetime


class SubmissionCreated(BaseModel):
    submission_id: uuid.UUID
    message: str = "Submission successful"


class Author(BaseModel):
    user_id: uuid.UUID
    username: str | None = Field(
        description="null when the users service cannot be reached or knows no such user"
    )


HiddenAuthor = Field(
    description="null while an anonymous competition has no results, except to the author"
    " and admins"
)
HiddenLikes = Field(
    description="null until the results in an anonymous competition, or one not judged by likes"
)
IsMine = Field(description="The entry is the caller's (false without a token)")
ReadByMe = Field(description="The caller has opened the entry's page (false without a token)")


class SubmissionSummary(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    excerpt: str = Field(description=f"The first {EXCERPT_CHARS} characters of the content")
    word_count: WordCount
    author: Author | None = HiddenAuthor
    is_mine: bool = IsMine
    likes: int | None = HiddenLikes
    read_by_me: bool = ReadByMe
    created_at: datetime
    edited_at: datetime | None = Field(description="When its author last changed it")


class SubmissionPage(BaseModel):
    items: list[SubmissionSummary]
    total: int
    limit: int
    offset: int


class CommentCreate(Input):
    content: CommentText
    parent_id: uuid.UUID | None = Field(None, description="The comment this one replies to")


class CommentEdit(Input):
    content: CommentText


class CommentCreated(BaseModel):
    comment_id: uuid.UUID
    message: str = "Comment added"


class CommentThread(BaseModel):
    comment_id: uuid.UUID
    parent_id: uuid.UUID | None
    author: Author | None = Field(
        description="null for the entry's author's comments while the entry's author is hidden"
    )
    by_entry_author: bool = Field(description="Written by the author of the entry")
    content: str = Field(description=f"{MARKDOWN}; empty once removed")
    content_html: ContentHtml
    created_at: datetime
    edited_at: datetime | None = Field(description="When its author last changed it")
    removed: Literal["author", "moderator"] | None = Field(
        description="Deleted by its author (listed only above replies) or hidden by a moderator"
    )
    removed_reason: str | None = Field(
        description="The moderator's reason: shown to the comment's author and admins only"
    )
    replies: list["CommentThread"]


class SubmissionDetails(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    content: str = Field(description=MARKDOWN)
    content_html: ContentHtml
    word_count: WordCount
    author: Author | None = HiddenAuthor
    is_mine: bool = IsMine
    likes: int | None = HiddenLikes
    liked_by_me: bool = Field(description="false when the request carries no token")
    created_at: datetime
    edited_at: datetime | None = Field(description="When its author last changed it")
    disqualified_at: datetime | None = Field(
        description="When a moderator disqualified it (only its author and admins read it then)"
    )
    disqualified_reason: str | None
    comments: list[CommentThread]


def _distinct_ids(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if len(set(ids)) != len(ids):
        raise ValueError("each user may be named only once")
    return ids


class JudgesSet(Input):
    user_ids: Annotated[list[uuid.UUID], Field(max_length=50), AfterValidator(_distinct_ids)]


class Judges(BaseModel):
    user_ids: list[uuid.UUID]


class ScoreSet(Input):
    score: Annotated[int, Field(ge=1, le=10)]


class ScoreGiven(BaseModel):
    submission_id: uuid.UUID
    score: int
    scored_at: datetime


class ScorePage(BaseModel):
    items: list[ScoreGiven]
    total: int
    limit: int
    offset: int


class BallotCast(Input):
    submission_ids: Annotated[
        list[uuid.UUID],
        Field(
            min_length=BALLOT_MIN,
            max_length=10_000,
            description="The entries you read, best first: no duplicates, not your own",
        ),
    ]


class Ballot(BaseModel):
    submission_ids: list[uuid.UUID]
    cast_at: datetime | None = Field(description="null when none is cast")


class ResultEntry(BaseModel):
    place: int = Field(
        description="Standard competition ranking: equal scores share a place (1, 2, 2, 4)"
    )
    tied: bool = Field(description="Another entry has the same place")
    submission_id: uuid.UUID
    title: str
    author_id: uuid.UUID
    likes: int
    score: float = Field(
        description="What placed it: its likes, the judges' mean, or its Bradley-Terry score"
        " (its odds of beating a middling entry)"
    )
    ballots: int | None = Field(description="Ranked judging: the ballots it was on; else null")


class ResultPage(BaseModel):
    items: list[ResultEntry]
    total: int
    limit: int
    offset: int
