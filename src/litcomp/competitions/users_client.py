"""What the competitions service asks of the users service, over gRPC."""

import logging
import uuid
from collections.abc import Iterable

from litcomp.kit.errors import Unavailable
from litcomp.kit.grpc import Client
from litcomp.v1 import users_pb2 as pb
from litcomp.v1.users_pb2_grpc import UsersStub

log = logging.getLogger(__name__)


class UsersClient:
    def __init__(self, *, target: str, timeout: float) -> None:
        self._client = Client(service="users", stub=UsersStub, target=target, timeout=timeout)

    async def usernames(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Usernames by id, or an empty map while users is unavailable: names are
        only decoration, and entries stay readable without them."""
        ids = sorted({str(i) for i in user_ids})
        if not ids:
            return {}
        try:
            response = await self._client.call("GetUsers", pb.GetUsersRequest(user_ids=ids))
        except Unavailable:
            return {}
        return {uuid.UUID(user.user_id): user.username for user in response.users}

    async def close(self) -> None:
        await self._client.close()
