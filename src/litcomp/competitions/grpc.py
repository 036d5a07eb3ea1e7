"""The competitions gRPC service (litcomp.v1.Competitions), as called by users."""

from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import service
from litcomp.kit.errors import Invalid
from litcomp.kit.grpc import parse_uuid
from litcomp.v1 import competitions_pb2 as pb
from litcomp.v1.competitions_pb2_grpc import CompetitionsServicer

MAX_IDS = 1000


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
            )
        return pb.ListUserSubmissionsResponse(
            submissions=[
                pb.Submission(
                    submission_id=str(s.id),
                    competition_id=str(s.competition_id),
                    title=s.title,
                    content=s.content,
                    created_at=_timestamp(s.created_at),
                    word_count=s.word_count,
                )
                for s in found
            ]
        )
