"""What each notice says: one model per type, the only place a notice's JSON is declared.

A client gets ``{"id", "type", "data", "created_at"}`` over the WebSocket, and the same
with ``read`` from ``GET /notifications``; ``type`` says which model ``data`` follows.
Producers build the ``data`` models; ``TYPES`` maps each type name to its message.
The field names are a contract with the web app (``gateway/web/notify.js``): add, never
rename.
"""

import uuid
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, Field

# Notice ids count one user's notices, so they never come near this: the largest
# integer a JSON number holds exactly (JavaScript's Number.MAX_SAFE_INTEGER). A larger
# one names no notice, and a schema's maximum past it cannot be checked exactly by
# clients that read JSON numbers as doubles. (The column is BIGINT.)
MAX_ID = 2**53 - 1


class AboutEntry(BaseModel):
    """What every notice about an entry says."""

    competition_id: uuid.UUID
    competition_title: str
    submission_id: uuid.UUID
    submission_title: str
    actor_id: uuid.UUID | None = Field(
        description="who entered, liked or commented; null for the author of an entry in an"
        " anonymous competition before its results"
    )
    actor_username: str | None = Field(description="null when actor_id is")


class AboutComment(AboutEntry):
    comment_id: uuid.UUID
    parent_id: uuid.UUID | None = Field(description="the comment replied to, if any")


class PlacedEntry(BaseModel):
    submission_id: uuid.UUID
    title: str
    place: int = Field(ge=1)
    tied: bool = Field(False, description="another entry has the same place")
    likes: int = Field(ge=0)


class Placed(BaseModel):
    competition_id: uuid.UUID
    competition_title: str
    place: int = Field(ge=1, description="the best place of your entries")
    tied: bool = Field(False, description="another entry shares that place")
    participants: int = Field(ge=1, description="how many entries were placed")
    entries: list[PlacedEntry]


class Disqualified(BaseModel):
    competition_id: uuid.UUID
    competition_title: str
    submission_id: uuid.UUID
    submission_title: str
    reason: str = Field(description="the moderator's reason")


class Revealed(BaseModel):
    competition_id: uuid.UUID
    competition_title: str
    entries: int = Field(ge=0, description="how many entries now show their authors")


Data = TypeVar("Data", bound=BaseModel)


class Message(BaseModel, Generic[Data]):
    id: int = Field(ge=1, le=MAX_ID, description="Increases by one per notice to the same user")
    type: str
    data: Data
    created_at: datetime


class SubmissionCreated(Message[AboutEntry]):
    """A competition you follow has a new entry."""

    type: Literal["submission.created"]


class SubmissionLiked(Message[AboutEntry]):
    """Someone liked your entry (once per person, however often they like it again)."""

    type: Literal["submission.liked"]


class CommentCreated(Message[AboutComment]):
    """Someone commented on your entry."""

    type: Literal["comment.created"]


class CommentReplied(Message[AboutComment]):
    """Someone replied to your comment."""

    type: Literal["comment.replied"]


class CompetitionPlaced(Message[Placed]):
    """A competition you entered has ended: your places."""

    type: Literal["competition.placed"]


class SubmissionDisqualified(Message[Disqualified]):
    """A moderator disqualified your entry: it is out of the lists and the results."""

    type: Literal["submission.disqualified"]


class CompetitionRevealed(Message[Revealed]):
    """An anonymous competition you follow has its results: its authors are shown."""

    type: Literal["competition.revealed"]


class WriterPublished(Message[AboutEntry]):
    """A writer you follow has an entry anyone can read: at once in a competition that
    names its authors, at the results of an anonymous one (never before). ``actor_id``
    and ``actor_username`` are the writer. Not sent to a subscriber of the competition,
    who hears of the entry there already."""

    type: Literal["writer.published"]


@cache
def type_name(message: type[Message[Any]]) -> str:
    """The ``type`` a message model stands for."""
    name: str = get_args(message.model_fields["type"].annotation)[0]
    return name


TYPES: dict[
    str,
    type[Message[AboutEntry]]
    | type[Message[AboutComment]]
    | type[Message[Placed]]
    | type[Message[Revealed]]
    | type[Message[Disqualified]],
]
TYPES = {
    type_name(model): model
    for model in (
        SubmissionCreated,
        SubmissionLiked,
        CommentCreated,
        CommentReplied,
        CompetitionPlaced,
        CompetitionRevealed,
        SubmissionDisqualified,
        WriterPublished,
    )
}

AnyMessage = Annotated[
    SubmissionCreated
    | SubmissionLiked
    | CommentCreated
    | CommentReplied
    | CompetitionPlaced
    | CompetitionRevealed
    | SubmissionDisqualified
    | WriterPublished,
    Field(discriminator="type"),
]


class Pong(BaseModel):
    """The answer to a client's ping on the WebSocket."""

    type: Literal["pong"]


class Read(BaseModel):
    read: bool


# GET /notifications lists the same messages, each with whether it was read.
class ListedSubmissionCreated(SubmissionCreated, Read): ...


class ListedSubmissionLiked(SubmissionLiked, Read): ...


class ListedCommentCreated(CommentCreated, Read): ...


class ListedCommentReplied(CommentReplied, Read): ...


class ListedCompetitionPlaced(CompetitionPlaced, Read): ...


class ListedCompetitionRevealed(CompetitionRevealed, Read): ...


class ListedSubmissionDisqualified(SubmissionDisqualified, Read): ...


class ListedWriterPublished(WriterPublished, Read): ...


Listed = Annotated[
    ListedSubmissionCreated
    | ListedSubmissionLiked
    | ListedCommentCreated
    | ListedCommentReplied
    | ListedCompetitionPlaced
    | ListedCompetitionRevealed
    | ListedSubmissionDisqualified
    | ListedWriterPublished,
    Field(discriminator="type"),
]
