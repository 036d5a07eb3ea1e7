"""Who may read the gateway's operator endpoints: the answer for each kind of caller."""

import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from litcomp.gateway.clients import Networks
from litcomp.gateway.messages import Request
from litcomp.gateway.operators import Operators
from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.errors import Unavailable

ISSUER = "litcomp-users"


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return SigningKey.load_or_create(tmp_path / "key.pem")


def operators(keys: PublicKeys) -> Operators:
    return Operators(Networks([ip_network("10.0.0.0/8")]), TokenVerifier(keys, issuer=ISSUER))


def request(client_ip: str, token: str = "") -> Request:
    headers = [("authorization", f"Bearer {token}")] if token else []
    return Request(
        method="GET",
        target="/gateway/status",
        path="/gateway/status",
        headers=headers,
        body=b"",
        client_ip=client_ip,
        keep_alive=True,
    )


def token(key: SigningKey, role: str) -> str:
    issued, _ = key.issue(user_id=uuid.uuid4(), role=role, issuer=ISSUER, ttl=timedelta(minutes=1))
    return issued


@pytest.mark.parametrize(
    ("client_ip", "role", "status"),
    [
        ("10.1.2.3", "", None),  # an operator network: no token needed
        ("::ffff:10.1.2.3", "", None),
        ("203.0.113.9", "", 401),
        ("203.0.113.9", "user", 403),
        ("203.0.113.9", "admin", None),
    ],
)
async def test_operator_networks_and_admins_only(
    key: SigningKey, client_ip: str, role: str, status: int | None
) -> None:
    guard = operators(PublicKeys.of(key))
    refused = await guard.refusal(request(client_ip, token(key, role) if role else ""))
    assert (refused and refused.status) == status
    if refused is not None:
        assert json.loads(refused.body)["error"]["code"] in ("unauthorized", "forbidden")


async def test_a_token_signed_with_another_key_is_401(key: SigningKey, tmp_path: Path) -> None:
    forger = SigningKey.load_or_create(tmp_path / "forger.pem")
    refused = await operators(PublicKeys.of(key)).refusal(
        request("203.0.113.9", token(forger, "admin"))
    )
    assert refused is not None and refused.status == 401


async def test_keys_that_cannot_be_fetched_are_503_not_401(key: SigningKey) -> None:
    async def down() -> Mapping[str, Any]:
        raise Unavailable("no users instance")

    refused = await operators(PublicKeys(down)).refusal(request("203.0.113.9", token(key, "admin")))
    assert refused is not None and refused.status == 503
    assert ("Retry-After", "1") in [(name, value) for name, value in refused.headers]
