"""What the competitions service asks of the users service: names, subscribers and
who is suspended over gRPC, and the public keys that verify tokens over HTTP."""

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from litcomp.kit.errors import Unavailable
from litcomp.kit.grpc import Client
from litcomp.v1 import users_pb2 as pb

log = logging.getLogger(__name__)

JWKS_PATH = "/users/.well-known/jwks.json"
SUBSCRIBERS_PAGE = 1000
SUSPENDED_PAGE = 1000
NAMES_KEPT = 50_000  # ~10 MB at most


class UsersClient:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._http = httpx.AsyncClient(timeout=client.timeout, trust_env=False)
        # Usernames never change and accounts are not deleted: a name once known is
        # known for good, and an entry page names its readers without a call.
        self._names: dict[uuid.UUID, str] = {}

    async def usernames(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Usernames by id, or an empty map while users is unavailable: names are
        only decoration, and entries stay readable without them."""
        try:
            return await self.known(user_ids)
        except Unavailable:
            return {}

    async def known(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The usernames of those of ``user_ids`` who exist; raises ``Unavailable``
        while users is down (when who exists matters, as when naming judges)."""
        wanted = set(user_ids)
        names = {i: self._names[i] for i in wanted if i in self._names}
        ids = sorted(str(i) for i in wanted - names.keys())
        if ids:
            response = await self._client.call("GetUsers", pb.GetUsersRequest(user_ids=ids))
            asked = {uuid.UUID(user.user_id): user.username for user in response.users}
            names |= asked
            self._remember(asked)
        return names

    def _remember(self, names: dict[uuid.UUID, str]) -> None:
        self._names |= names
        if len(self._names) > NAMES_KEPT:  # the first known are forgotten first
            for oldest in list(self._names)[: len(self._names) - NAMES_KEPT]:
                del self._names[oldest]

    async def search_writers(self, text: str, *, limit: int, offset: int) -> pb.SearchUsersResponse:
        """Writers matching ``text`` (their snippets already safe HTML); raises
        ``Unavailable`` while users is down."""
        request = pb.SearchUsersRequest(query=text, limit=limit, offset=offset)
        response: pb.SearchUsersResponse = await self._client.call("SearchUsers", request)
        return response

    async def subscribers(self, competition_id: uuid.UUID) -> list[uuid.UUID]:
        """Everyone subscribed to the competition (page by page)."""
        return await self._paged(
            "ListSubscribers",
            lambda token: pb.ListSubscribersRequest(
                competition_id=str(competition_id), page_size=SUBSCRIBERS_PAGE, page_token=token
            ),
        )

    async def followers(self, writer_id: uuid.UUID) -> list[uuid.UUID]:
        """Everyone following the writer (page by page)."""
        return await self._paged(
            "ListFollowers",
            lambda token: pb.ListFollowersRequest(
                user_id=str(writer_id), page_size=SUBSCRIBERS_PAGE, page_token=token
            ),
        )

    async def _paged(self, method: str, request: Callable[[str], Any]) -> list[uuid.UUID]:
        """The user ids of every page ``method`` answers, asked by ``request(page_token)``."""
        found: list[uuid.UUID] = []
        token = ""
        while True:
            page = await self._client.call(method, request(token))
            found.extend(uuid.UUID(user_id) for user_id in page.user_ids)
            token = page.next_page_token
            if not token:
                return found

    async def suspended(self) -> dict[uuid.UUID, str]:
        """Every user suspended now, with the reason (page by page): what this service's
        ``Suspensions`` refreshes from. Raises ``Unavailable`` while users is down."""
        found: dict[uuid.UUID, str] = {}
        token = ""
        while True:
            request = pb.ListSuspendedUsersRequest(page_size=SUSPENDED_PAGE, page_token=token)
            page = await self._client.call("ListSuspendedUsers", request)
            found.update((uuid.UUID(user.user_id), user.reason) for user in page.users)
            token = page.next_page_token
            if not token:
                return found

    async def jwks(self) -> Mapping[str, Any]:
        """The users service's JWKS document, from any live users instance."""
        endpoint = self._client.instances.choose()
        if endpoint is None:
            raise Unavailable("no users instance to fetch the signing keys from")
        instances = self._client.instances
        with instances.track(endpoint):
            try:
                response = await self._http.get(endpoint.instance.http_url + JWKS_PATH)
                response.raise_for_status()
                document: Mapping[str, Any] = response.json()
            except httpx.HTTPStatusError as error:  # an answer: not the breaker's
                instances.errored(endpoint, f"JWKS fetch: HTTP {error.response.status_code}")
                raise Unavailable("cannot fetch the users service's signing keys") from None
            except httpx.HTTPError as error:
                instances.failed(endpoint, f"JWKS fetch: {error!r}")
                raise Unavailable("cannot fetch the users service's signing keys") from None
        instances.succeeded(endpoint)
        return document

    async def close(self) -> None:
        await self._http.aclose()
