"""The users gRPC service (litcomp.v1.Users), as called by competitions."""

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.kit.grpc import parse_uuid
from litcomp.users import people, service
from litcomp.v1 import users_pb2 as pb
from litcomp.v1.users_pb2_grpc import UsersServicer


class Users(UsersServicer):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def GetUsers(
        self, request: pb.GetUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetUsersResponse:
        ids = [parse_uuid(i, "user_ids") for i in request.user_ids]
        async with self.sessionmaker() as session:
            users = await service.get_users(session=session, user_ids=ids)
        return pb.GetUsersResponse(
            users=[pb.User(user_id=str(u.id), username=u.username, role=u.role) for u in users]
        )

    async def ListSubscribers(
        self, request: pb.ListSubscribersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListSubscribersResponse:
        competition_id = parse_uuid(request.competition_id, "competition_id")
        after = parse_uuid(request.page_token, "page_token") if request.page_token else None
        async with self.sessionmaker() as session:
            ids, last = await service.list_subscribers(
                session=session,
                competition_id=competition_id,
                page_size=request.page_size,
                after=after,
            )
        return pb.ListSubscribersResponse(
            user_ids=[str(i) for i in ids], next_page_token=str(last) if last else ""
        )

    async def ListSuspendedUsers(
        self, request: pb.ListSuspendedUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListSuspendedUsersResponse:
        after = parse_uuid(request.page_token, "page_token") if request.page_token else None
        async with self.sessionmaker() as session:
            page, last = await service.suspended_users(
                session=session, page_size=request.page_size, after=after
            )
        return pb.ListSuspendedUsersResponse(
            users=[pb.SuspendedUser(user_id=str(i), reason=reason) for i, reason in page],
            next_page_token=str(last) if last else "",
        )

    async def ListFollowers(
        self, request: pb.ListFollowersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListFollowersResponse:
        writer_id = parse_uuid(request.user_id, "user_id")
        after = parse_uuid(request.page_token, "page_token") if request.page_token else None
        async with self.sessionmaker() as session:
            ids, last = await people.list_followers(
                session=session, writer_id=writer_id, page_size=request.page_size, after=after
            )
        return pb.ListFollowersResponse(
            user_ids=[str(i) for i in ids], next_page_token=str(last) if last else ""
        )

    async def SearchUsers(
        self, request: pb.SearchUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SearchUsersResponse:
        async with self.sessionmaker() as session:
            found, total, exact = await service.search_writers(
                session=session, text=request.query, limit=request.limit, offset=request.offset
            )
        return pb.SearchUsersResponse(
            users=[
                pb.FoundUser(user_id=str(user.id), username=user.username, snippet=snippet)
                for user, snippet in found
            ],
            total=total,
            total_exact=exact,
        )
