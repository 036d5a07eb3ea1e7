"""Only tokens that users signed, unexpired and untouched, open protected endpoints."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from litcomp.kit.auth import SigningKey
from tests.support import Account, Platform, expect_error


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _hs256(claims: dict[str, object], secret: bytes, kid: str) -> str:
    """The classic key-confusion forgery, built by hand (PyJWT refuses to make it)."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.fixture(scope="module")
def platform_key(platform: Platform) -> SigningKey:
    return SigningKey.load_or_create(platform.var_dir / "jwt-signing-key.pem")


def test_jwks_publishes_the_signing_key(users: httpx.Client, writer: Account):
    keys = users.get("/users/.well-known/jwks.json").json()["keys"]
    assert [(k["kty"], k["crv"], k["alg"]) for k in keys] == [("OKP", "Ed25519", "EdDSA")]
    assert jwt.get_unverified_header(writer.token)["kid"] == keys[0]["kid"]
    claims = jwt.decode(writer.token, options={"verify_signature": False})
    assert {"sub", "role", "exp", "iss"} <= set(claims)
    assert claims["sub"] == writer.user_id
    assert claims["role"] == "user"


def test_bad_tokens_are_refused_by_both_services(
    users: httpx.Client, competitions: httpx.Client, writer: Account, platform_key: SigningKey
):
    header, payload, signature = writer.token.split(".")
    claims = jwt.decode(writer.token, options={"verify_signature": False})
    as_admin = {**claims, "role": "admin"}
    public_pem = platform_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expired, _ = platform_key.issue(
        user_id=uuid.UUID(writer.user_id),
        role="user",
        issuer="litcomp-users",
        ttl=timedelta(seconds=-60),
    )
    foreign_issuer, _ = platform_key.issue(
        user_id=uuid.UUID(writer.user_id),
        role="user",
        issuer="someone-else",
        ttl=timedelta(minutes=5),
    )
    bad_tokens = {
        "garbage": "not.a.token",
        "tampered payload": f"{header}.{_b64(as_admin)}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[::-1]}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(as_admin)}.",
        "hmac with the public key": _hs256(as_admin, public_pem, platform_key.kid),
        "expired": expired,
        "other issuer": foreign_issuer,
    }
    for name, token in bad_tokens.items():
        auth = {"Authorization": f"Bearer {token}"}
        for response in (
            users.get("/users/profile", headers=auth),
            competitions.post(
                "/competitions",
                json={"title": "t", "start_date": "2030-01-01", "end_date": "2030-02-01"},
                headers=auth,
            ),
        ):
            assert response.status_code == 401, (name, response.text)
            expect_error(response, 401)
    wrong_scheme = {"Authorization": f"Basic {writer.token}"}
    expect_error(users.get("/users/profile", headers=wrong_scheme), 401)
    expired_auth = {"Authorization": f"Bearer {expired}"}
    assert expect_error(users.get("/users/profile", headers=expired_auth), 401)["code"] == (
        "token_expired"
    )


def test_a_user_cannot_act_as_another(users: httpx.Client, writer: Account, reader: Account):
    mine = users.get("/users/profile", headers=writer.auth).json()
    theirs = users.get("/users/profile", headers=reader.auth).json()
    assert mine["user_id"] == writer.user_id
    assert theirs["user_id"] == reader.user_id
    users.patch("/users/profile", json={"bio": "writer's bio"}, headers=writer.auth)
    assert users.get("/users/profile", headers=reader.auth).json()["bio"] == ""
