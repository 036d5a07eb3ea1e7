"""The competitions gRPC service (litcomp.v1.Competitions), as called by users."""

from datetime import UTC, datetime
from typing import Any, cast

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.competitions.moderation import service as moderation
from litcomp.kit.errors import Invalid
from litcomp.kit.grpc import parse_uuid
from litcomp.v1 import competitions_pb2 as pb
from litcomp.v1.competitions_pb2_grpc import CompetitionsServicer

MAX_IDS = 1000
MAX_ACTIONS = 500


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


class Competitions(CompetitionsServicer):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def GetCompetitions(
        self, request: pb.GetCompetitionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetCompetitionsResponse:
        if len(request.competition_ids) > MAX_IDS:
            raise Invalid(f"at most {MAX_IDS} ids at a time")
        ids = [parse_uuid(i, "competition_ids") for i in request.competition_ids]
        async with self.sessionmaker() as session:
            found = await service.get_competitions(session=session, competition_ids=ids)
        return pb.GetCompetitionsResponse(
            competitions=[
                pb.Competition(
                    competition_id=str(c.id),
                    title=c.title,
                    description=c.description,
                    admin_id=str(c.admin_id),
                    start_date=_timestamp(c.start_date),
                    end_date=_timestamp(c.end_date),
                    created_at=_timestamp(c.created_at),
                    voting_end_date=_timestamp(c.voting_end_date) if c.voting_end_date else None,
                )
                for c in found
            ]
        )

    async def ListUserSubmissions(
        self, request: pb.ListUserSubmissionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListUserSubmissionsResponse:
        user_id = parse_uuid(request.user_id, "user_id")
        async with self.sessionmaker() as session:
            found = await service.list_user_submissions(
                session=session,
                user_id=user_id,
                include_unrevealed=request.include_unrevealed,
                exclude_disqualified=request.exclude_disqualified,
            )
        return pb.ListUserSubmissionsResponse(
            submissions=[
                pb.Submission(
                    submission_id=str(e.submission.id),
                    competition_id=str(e.submission.competition_id),
                    title=e.submission.title,
                    content=e.submission.content,
                    created_at=_timestamp(e.submission.created_at),
                    word_count=e.submission.word_count,
                    competition_title=e.competition.title,
                    place=e.place or 0,
                    likes=e.likes,
                    disqualified=e.submission.disqualified_at is not None,
                )
                for e in found
            ]
        )

    async def RecordModerationActions(
        self,
        request: pb.RecordModerationActionsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.RecordModerationActionsResponse:
        if len(request.actions) > MAX_ACTIONS:
            raise Invalid(f"at most {MAX_ACTIONS} actions at a time")
        actions = [user_action(a) for a in request.actions]
        async with self.sessionmaker() as session:
            recorded = await moderation.record_user_actions(session=session, actions=actions)
        return pb.RecordModerationActionsResponse(recorded=recorded)


def user_action(message: pb.ModerationAction) -> moderation.UserAction:
    """An act on a user, as the users service sends it; refused (Invalid) if malformed."""
    if message.action not in moderation.USER_ACTIONS:
        raise Invalid(f"unknown action {message.action!r}")
    if not message.HasField("created_at"):
        raise Invalid("created_at is required")
    if "\x00" in message.reason:
        raise Invalid("reason holds a NUL, which the database cannot store")
    return moderation.UserAction(
        action_id=parse_uuid(message.action_id, "action_id"),
        action=cast(moderation.UserActionName, message.action),
        actor_id=parse_uuid(message.actor_id, "actor_id"),
        user_id=parse_uuid(message.user_id, "user_id"),
        reason=message.reason,
        created_at=message.created_at.ToDatetime(tzinfo=UTC),
    )
