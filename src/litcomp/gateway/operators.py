"""Who may read the operator endpoints (``/gateway/status``, ``/metrics``).

They show every instance's address and last error, so they answer only to clients in
``LITCOMP_GATEWAY_OPERATOR_NETS`` (loopback by default; where Prometheus scrapes from
on Compose and Kubernetes) or to a request carrying an admin's token. The token is
verified here as the services verify it (``kit.auth``), with the users service's
public keys fetched through the gateway's own connection pool from a users instance.

``/status`` itself is a page with no data in it: it fetches ``/gateway/status`` with
the token the web app keeps, so an admin can open it from anywhere.
"""

from collections.abc import Mapping
from typing import Any

from litcomp.gateway.clients import Networks
from litcomp.gateway.messages import Request, Response, error
from litcomp.gateway.pool import ConnectionPool, fetch_json
from litcomp.kit.auth import PublicKeys, TokenVerifier
from litcomp.kit.errors import AppError, Unavailable
from litcomp.kit.instance_table import InstanceTable

JWKS_PATH = "/users/.well-known/jwks.json"
PATHS = frozenset({"/gateway/status", "/metrics"})


def users_public_keys(pool: ConnectionPool, users: InstanceTable, *, within: float) -> PublicKeys:
    """The users service's public keys, fetched from one of its instances when a token
    names a key not seen yet (``PublicKeys`` says how often at most)."""

    async def fetch() -> Mapping[str, Any]:
        document = await fetch_json(pool, users, JWKS_PATH, within=within)
        if document is None:
            raise Unavailable("no users instance gave the token signing keys")
        return document

    return PublicKeys(fetch)


class Operators:
    def __init__(self, networks: Networks, verifier: TokenVerifier) -> None:
        self._networks = networks
        self._verifier = verifier

    async def refusal(self, request: Request) -> Response | None:
        """None if ``request`` may read an operator endpoint, else the answer saying why:
        401 without a valid token, 403 with a token that is not an admin's (503 while
        the keys to check it cannot be had)."""
        if self._networks.contain_text(request.client_ip):
            return None
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(
                401,
                "unauthorized",
                f"{request.path} is for operators: send an admin's bearer token",
                **{"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = await self._verifier.verify(token.strip())
        except AppError as refused:
            headers = {"Retry-After": "1"} if refused.status == 503 else {}
            return error(refused.status, refused.code, refused.message, **headers)
        if not principal.is_admin:
            return error(403, "forbidden", f"{request.path} is for admins and operators only")
        return None
