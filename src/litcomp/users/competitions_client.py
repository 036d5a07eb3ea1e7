"""What the users service asks of the competitions service, over gRPC."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from litcomp.kit.grpc import Client
from litcomp.v1 import competitions_pb2 as pb

MAX_IDS_PER_CALL = 1000  # what GetCompetitions accepts at once (see the proto)


@dataclass(frozen=True)
class Competition:
    """A competition as the competitions service describes it to users."""

    competition_id: uuid.UUID
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None  # None: no voting phase

    @property
    def results_at(self) -> datetime:
        """When its last phase ends: then it is finished."""
        return self.voting_end_date or self.end_date


@dataclass(frozen=True)
class Entry:
    """A user's entry, as the competitions service describes it."""

    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    content: str
    created_at: datetime
    word_count: int
    competition_title: str
    place: int | None  # None until the results
    likes: int | None  # None while the competition hides them
    disqualified: bool


@dataclass(frozen=True)
class ModerationAction:
    """An admin's act on a user, for the audit log competitions keeps."""

    action_id: uuid.UUID
    action: str  # suspend_user | lift_suspension
    actor_id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    created_at: datetime


class CompetitionsClient:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def get_competitions(self, ids: Sequence[uuid.UUID]) -> list[Competition]:
        found: list[Competition] = []
        for start in range(0, len(ids), MAX_IDS_PER_CALL):
            found.extend(await self._get_competitions(ids[start : start + MAX_IDS_PER_CALL]))
        return found

    async def _get_competitions(self, ids: Sequence[uuid.UUID]) -> list[Competition]:
        request = pb.GetCompetitionsRequest(competition_ids=[str(i) for i in ids])
        response = await self._client.call("GetCompetitions", request)
        return [
            Competition(
                competition_id=uuid.UUID(c.competition_id),
                title=c.title,
                description=c.description,
                start_date=c.start_date.ToDatetime(tzinfo=UTC),
                end_date=c.end_date.ToDatetime(tzinfo=UTC),
                voting_end_date=(
                    c.voting_end_date.ToDatetime(tzinfo=UTC)
                    if c.HasField("voting_end_date")
                    else None
                ),
            )
            for c in response.competitions
        ]

    async def list_user_submissions(
        self, user_id: uuid.UUID, *, include_unrevealed: bool, exclude_disqualified: bool = False
    ) -> list[Entry]:
        """``include_unrevealed`` only for the writer themselves or an admin: it lists
        entries whose anonymous competition has not revealed its authors."""
        request = pb.ListUserSubmissionsRequest(
            user_id=str(user_id),
            include_unrevealed=include_unrevealed,
            exclude_disqualified=exclude_disqualified,
        )
        response = await self._client.call("ListUserSubmissions", request)
        return [
            Entry(
                submission_id=uuid.UUID(s.submission_id),
                competition_id=uuid.UUID(s.competition_id),
                title=s.title,
                content=s.content,
                created_at=s.created_at.ToDatetime(tzinfo=UTC),
                word_count=s.word_count,
                competition_title=s.competition_title,
                place=s.place or None,
                likes=s.likes if s.HasField("likes") else None,
                disqualified=s.disqualified,
            )
            for s in response.submissions
        ]

    async def record_moderation_actions(self, actions: Sequence[ModerationAction]) -> int:
        """Record them in the audit log; how many were new (an id recorded already is
        skipped, so calling again after a lost answer is safe)."""
        request = pb.RecordModerationActionsRequest(
            actions=[
                pb.ModerationAction(
                    action_id=str(a.action_id),
                    action=a.action,
                    actor_id=str(a.actor_id),
                    user_id=str(a.user_id),
                    reason=a.reason,
                    created_at=_timestamp(a.created_at),
                )
                for a in actions
            ]
        )
        response = await self._client.call("RecordModerationActions", request)
        recorded: int = response.recorded
        return recorded


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
