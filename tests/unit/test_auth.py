"""litcomp.kit.auth: Ed25519-signed JWTs, issued by users and verified locally everywhere."""

import asyncio
import base64
import hashlib
import hmac
import json
import stat
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from litcomp.kit.auth import Principal, PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.errors import Forbidden, Unauthorized, Unavailable
from litcomp.kit.suspensions import Suspensions
from litcomp.kit.times import utcnow
from tests.support import FakeClock

ISSUER = "litcomp-users"
HOUR = timedelta(hours=1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey.from_pem(pem)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key()


@pytest.fixture
def verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier(PublicKeys.of(key), issuer=ISSUER)


def valid_claims(**overrides: Any) -> dict[str, Any]:
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "role": "user",
        "iss": ISSUER,
        "iat": now,
        "exp": now + HOUR,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(key: SigningKey, claims: Mapping[str, Any], **headers: Any) -> str:
    return jwt.encode(
        dict(claims), key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **headers}
    )


async def assert_refused(verifier: TokenVerifier, token: str, code: str = "unauthorized") -> None:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401
    assert caught.value.code == code


class TestPrincipal:
    def test_admin_role_is_admin(self) -> None:
        assert Principal(uuid.uuid4(), "admin").is_admin

    def test_user_role_is_not_admin(self) -> None:
        assert not Principal(uuid.uuid4(), "user").is_admin


class TestSigningKeyFile:
    def test_creates_a_private_key_file_readable_by_owner_only(self, tmp_path: Path) -> None:
        path = tmp_path / "secrets" / "jwt.pem"
        SigningKey.load_or_create(path)
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")

    def test_leaves_no_temporary_file_behind(self, tmp_path: Path) -> None:
        SigningKey.load_or_create(tmp_path / "jwt.pem")
        assert [p.name for p in tmp_path.iterdir()] == ["jwt.pem"]

    def test_loads_the_same_key_the_second_time(self, tmp_path: Path) -> None:
        path = tmp_path / "jwt.pem"
        first = SigningKey.load_or_create(path)
        contents = path.read_bytes()
        second = SigningKey.load_or_create(path)
        assert second.kid == first.kid
        assert path.read_bytes() == contents
        token, _ = first.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        assert jwt.decode(token, second.private_key.public_key(), algorithms=["EdDSA"])

    def test_different_files_hold_different_keys(self, tmp_path: Path) -> None:
        one = SigningKey.load_or_create(tmp_path / "one.pem")
        two = SigningKey.load_or_create(tmp_path / "two.pem")
        assert one.kid != two.kid

    def test_refuses_a_key_that_is_not_ed25519(self) -> None:
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(ValueError, match="Ed25519"):
            SigningKey.from_pem(pem)


class TestJwks:
    def test_publishes_one_ed25519_signing_key(self, key: SigningKey) -> None:
        document = key.jwks()
        assert list(document) == ["keys"]
        [jwk] = document["keys"]
        assert jwk["kty"] == "OKP"
        assert jwk["crv"] == "Ed25519"
        assert jwk["alg"] == "EdDSA"
        assert jwk["use"] == "sig"
        assert jwk["kid"] == key.kid

    def test_publishes_the_public_half_only(self, key: SigningKey) -> None:
        [jwk] = key.jwks()["keys"]
        assert "d" not in jwk
        raw_public = key.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        assert b64url_decode(jwk["x"]) == raw_public

    def test_kid_is_the_rfc7638_thumbprint(self, key: SigningKey) -> None:
        [jwk] = key.jwks()["keys"]
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":")
        )
        assert key.kid == b64url(hashlib.sha256(canonical.encode()).digest())

    def test_is_json_serialisable_and_parseable_by_pyjwt(self, key: SigningKey) -> None:
        key_set = jwt.PyJWKSet.from_json(json.dumps(key.jwks()))
        assert [k.key_id for k in key_set.keys] == [key.kid]


class TestIssueAndVerify:
    async def test_round_trip_gives_the_principal(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        user_id = uuid.uuid4()
        token, _ = key.issue(user_id=user_id, role="user", issuer=ISSUER, ttl=HOUR)
        assert await verifier.verify(token) == Principal(user_id=user_id, role="user")

    async def test_admin_role_survives_the_round_trip(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        user_id = uuid.uuid4()
        token, _ = key.issue(user_id=user_id, role="admin", issuer=ISSUER, ttl=HOUR)
        principal = await verifier.verify(token)
        assert principal.user_id == user_id
        assert principal.is_admin

    def test_issue_reports_the_expiry_it_wrote(self, key: SigningKey) -> None:
        before = utcnow()
        token, expires_at = key.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        after = utcnow()
        assert before + HOUR <= expires_at <= after + HOUR
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] == int(expires_at.timestamp())
        assert claims["iss"] == ISSUER

    def test_issued_header_names_the_algorithm_and_key(self, key: SigningKey) -> None:
        token, _ = key.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA"
        assert header["kid"] == key.kid


def hand_signed(header: Mapping[str, Any], claims: Mapping[str, Any], key: SigningKey) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    return f"{signing_input}.{b64url(key.private_key.sign(signing_input.encode()))}"


def far_future_claims(role: str = "admin") -> dict[str, Any]:
    return {"sub": str(uuid.uuid4()), "role": role, "iss": ISSUER, "exp": 4102444800}


async def test_hand_built_tokens_are_sound(key: SigningKey, verifier: TokenVerifier) -> None:
    """The control for the hand-built forgeries below: built right, such a token passes."""
    claims = far_future_claims()
    token = hand_signed({"alg": "EdDSA", "typ": "JWT", "kid": key.kid}, claims, key)
    principal = await verifier.verify(token)
    assert principal == Principal(uuid.UUID(claims["sub"]), "admin")


class TestVerifyRefuses:
    async def test_expired_token(self, key: SigningKey, verifier: TokenVerifier) -> None:
        token, expires_at = key.issue(
            user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=timedelta(seconds=-60)
        )
        assert expires_at < utcnow()
        await assert_refused(verifier, token, code="token_expired")

    async def test_wrong_issuer(self, key: SigningKey, verifier: TokenVerifier) -> None:
        token, _ = key.issue(user_id=uuid.uuid4(), role="user", issuer="someone-else", ttl=HOUR)
        await assert_refused(verifier, token)

    async def test_token_signed_by_another_key_with_the_same_kid(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        impostor = SigningKey(Ed25519PrivateKey.generate(), key.kid)
        token, _ = impostor.issue(user_id=uuid.uuid4(), role="admin", issuer=ISSUER, ttl=HOUR)
        assert jwt.get_unverified_header(token)["kid"] == key.kid
        await assert_refused(verifier, token)

    async def test_tampered_payload(self, key: SigningKey, verifier: TokenVerifier) -> None:
        token, _ = key.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        header, payload, signature = token.split(".")
        claims = json.loads(b64url_decode(payload))
        claims["role"] = "admin"
        forged = f"{header}.{b64url_json(claims)}.{signature}"
        await assert_refused(verifier, forged)

    async def test_tampered_signature(self, key: SigningKey, verifier: TokenVerifier) -> None:
        token, _ = key.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        header, payload, signature = token.split(".")
        raw = bytearray(b64url_decode(signature))
        raw[0] ^= 0x01
        await assert_refused(verifier, f"{header}.{payload}.{b64url(bytes(raw))}")

    @pytest.mark.parametrize("with_kid", [False, True], ids=["no-kid", "known-kid"])
    async def test_alg_none(self, key: SigningKey, verifier: TokenVerifier, with_kid: bool) -> None:
        header: dict[str, str] = {"alg": "none", "typ": "JWT"}
        if with_kid:
            header["kid"] = key.kid
        claims = far_future_claims()
        token = f"{b64url_json(header)}.{b64url_json(claims)}."
        await assert_refused(verifier, token)

    @pytest.mark.parametrize("encoding", ["raw", "pem"])
    async def test_hs256_signed_with_the_public_key_as_secret(
        self, key: SigningKey, verifier: TokenVerifier, encoding: str
    ) -> None:
        public = key.private_key.public_key()
        secret = (
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            if encoding == "raw"
            else public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        claims = far_future_claims()
        signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        await assert_refused(verifier, f"{signing_input}.{b64url(signature)}")

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "garbage",
            "a.b.c",
            "...",
            "eyJhbGciOiJFZERTQSJ9",
            "Bearer x.y.z",
            "\u00e9.\u00e9.\u00e9",
        ],
    )
    async def test_garbage(self, verifier: TokenVerifier, token: str) -> None:
        await assert_refused(verifier, token)

    async def test_header_that_is_not_a_json_object(self, verifier: TokenVerifier) -> None:
        await assert_refused(verifier, f"{b64url_json(['EdDSA'])}.{b64url_json({})}.")

    @pytest.mark.parametrize("role", ["superuser", "Admin", "", ["admin"], None])
    async def test_role_outside_user_and_admin(
        self, key: SigningKey, verifier: TokenVerifier, role: object
    ) -> None:
        claims = valid_claims()
        claims["role"] = role
        await assert_refused(verifier, sign(key, claims))

    @pytest.mark.parametrize("sub", ["not-a-uuid", "", "123", 123, None])
    async def test_sub_that_is_not_a_uuid(
        self, key: SigningKey, verifier: TokenVerifier, sub: object
    ) -> None:
        claims = valid_claims()
        claims["sub"] = sub
        await assert_refused(verifier, sign(key, claims))

    @pytest.mark.parametrize("missing", ["sub", "role", "iss", "exp"])
    async def test_missing_required_claim(
        self, key: SigningKey, verifier: TokenVerifier, missing: str
    ) -> None:
        claims = valid_claims()
        del claims[missing]
        await assert_refused(verifier, sign(key, claims))

    async def test_missing_kid(self, key: SigningKey, verifier: TokenVerifier) -> None:
        token = jwt.encode(valid_claims(), key.private_key, algorithm="EdDSA")
        await assert_refused(verifier, token)

    async def test_non_string_kid(self, key: SigningKey, verifier: TokenVerifier) -> None:
        # PyJWT will not encode a non-string kid, so sign this one by hand.
        header = {"alg": "EdDSA", "typ": "JWT", "kid": 42}
        await assert_refused(verifier, hand_signed(header, far_future_claims(), key))

    async def test_unknown_kid(self, verifier: TokenVerifier) -> None:
        stranger = new_key()
        token, _ = stranger.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(token)


class CountingJwks:
    """A stand-in for the HTTP fetch of users' JWKS document: serves ``keys``, counts calls."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.calls = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        return {"keys": [k.public_jwk() for k in self.keys]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def token_by(key: SigningKey) -> str:
    return key.issue(user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=HOUR)[0]


class TestPublicKeys:
    async def test_fetches_lazily_on_first_use(self, key: SigningKey, clock: FakeClock) -> None:
        fetch = CountingJwks(key)
        keys = PublicKeys(fetch, clock=clock, min_refresh_seconds=30)
        assert fetch.calls == 0
        assert await keys.get(key.kid) is not None
        assert fetch.calls == 1

    async def test_known_kid_never_refetches(self, key: SigningKey, clock: FakeClock) -> None:
        fetch = CountingJwks(key)
        verifier = TokenVerifier(
            PublicKeys(fetch, clock=clock, min_refresh_seconds=0), issuer=ISSUER
        )
        for _ in range(5):
            clock.now += 3600
            await verifier.verify(token_by(key))
        assert fetch.calls == 1

    async def test_unknown_kids_refetch_at_most_once_per_interval(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        keys = PublicKeys(fetch, clock=clock, min_refresh_seconds=30)
        await keys.get(key.kid)
        assert fetch.calls == 1

        for forged in ("forged-1", "forged-2", "forged-3"):
            clock.now += 5
            with pytest.raises(Unauthorized):
                await keys.get(forged)
        assert fetch.calls == 1, "a flood of unknown kids within the interval fetches nothing"

        clock.now += 30
        with pytest.raises(Unauthorized):
            await keys.get("forged-4")
        assert fetch.calls == 2

        with pytest.raises(Unauthorized):
            await keys.get("forged-5")
        assert fetch.calls == 2

    async def test_rotated_key_is_picked_up_by_a_refetch(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        verifier = TokenVerifier(
            PublicKeys(fetch, clock=clock, min_refresh_seconds=30), issuer=ISSUER
        )
        await verifier.verify(token_by(key))

        rotated = new_key()
        fetch.keys = [rotated]
        clock.now += 31
        principal = await verifier.verify(token_by(rotated))
        assert principal.role == "user"
        assert fetch.calls == 2

    async def test_rotated_key_waits_for_the_interval(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        verifier = TokenVerifier(
            PublicKeys(fetch, clock=clock, min_refresh_seconds=30), issuer=ISSUER
        )
        await verifier.verify(token_by(key))

        rotated = new_key()
        fetch.keys = [rotated]
        clock.now += 10
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(token_by(rotated))
        assert fetch.calls == 1
        clock.now += 20
        await verifier.verify(token_by(rotated))
        assert fetch.calls == 2

    async def test_serves_every_key_in_the_set(self, clock: FakeClock) -> None:
        old, new = new_key(), new_key()
        fetch = CountingJwks(old, new)
        verifier = TokenVerifier(PublicKeys(fetch), issuer=ISSUER)
        await verifier.verify(token_by(old))
        await verifier.verify(token_by(new))
        assert fetch.calls == 1

    async def test_a_failed_fetch_propagates_its_error(self, key: SigningKey) -> None:
        async def users_down() -> Mapping[str, Any]:
            raise Unavailable("cannot fetch the users service's signing keys")

        with pytest.raises(Unavailable):
            await PublicKeys(users_down).get(key.kid)

    async def test_a_failed_fetch_does_not_turn_valid_tokens_into_401s(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        outage = True

        async def flaky() -> Mapping[str, Any]:
            if outage:
                raise Unavailable("cannot fetch the users service's signing keys")
            return await fetch()

        verifier = TokenVerifier(
            PublicKeys(flaky, clock=clock, min_refresh_seconds=30, retry_seconds=2),
            issuer=ISSUER,
        )
        with pytest.raises(Unavailable):
            await verifier.verify(token_by(key))
        outage = False
        clock.now += 1  # within the retry interval: still 503, without another fetch
        with pytest.raises(Unavailable):
            await verifier.verify(token_by(key))
        assert fetch.calls == 0
        clock.now += 1
        principal = await verifier.verify(token_by(key))
        assert principal.role == "user"

    async def test_concurrent_unknown_kids_share_one_fetch(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        keys = PublicKeys(fetch, clock=clock)
        found = await asyncio.gather(*(keys.get(key.kid) for _ in range(50)))
        assert len(found) == 50
        assert fetch.calls == 1

    async def test_of_serves_the_signing_keys_own_public_half(self, key: SigningKey) -> None:
        public = await PublicKeys.of(key).get(key.kid)
        token = token_by(key)
        assert jwt.decode(token, public, algorithms=["EdDSA"], issuer=ISSUER)["role"] == "user"


class Decodes:
    """jwt.decode, counted: each call is one signature check."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._decode = jwt.decode
        monkeypatch.setattr(jwt, "decode", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._decode(*args, **kwargs)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Decodes:
    return Decodes(monkeypatch)


@pytest.fixture
def wall_clock() -> FakeClock:
    return FakeClock(time.time())


class TestRemembersVerifiedTokens:
    async def test_a_repeated_token_is_not_checked_again(
        self, key: SigningKey, verifier: TokenVerifier, decodes: Decodes
    ) -> None:
        token = token_by(key)
        first = await verifier.verify(token)
        assert await verifier.verify(token) is first
        assert await verifier.verify(token) is first
        assert decodes.calls == 1

    async def test_a_remembered_token_is_refused_once_expired(
        self, key: SigningKey, decodes: Decodes, wall_clock: FakeClock
    ) -> None:
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, clock=wall_clock)
        token, expires_at = key.issue(
            user_id=uuid.uuid4(), role="user", issuer=ISSUER, ttl=timedelta(minutes=5)
        )
        await verifier.verify(token)
        # The same leeway as jwt.decode gives: refused from exp + 30 s.
        wall_clock.now = int(expires_at.timestamp()) + 29
        await verifier.verify(token)
        assert decodes.calls == 1
        wall_clock.now += 1
        await assert_refused(verifier, token, code="token_expired")
        assert decodes.calls == 1

    async def test_a_remembered_token_of_a_suspended_user_is_refused(
        self, key: SigningKey, decodes: Decodes
    ) -> None:
        async def nobody() -> Mapping[uuid.UUID, str]:
            return {}

        known = Suspensions(nobody, refresh_seconds=60)
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, suspensions=known)
        user_id = uuid.uuid4()
        token, _ = key.issue(user_id=user_id, role="user", issuer=ISSUER, ttl=HOUR)
        await verifier.verify(token)
        known.suspend(user_id, "spam")
        with pytest.raises(Forbidden) as caught:
            await verifier.verify(token)
        assert (caught.value.status, caught.value.code) == (403, "suspended")
        known.lift(user_id)
        assert (await verifier.verify(token)).user_id == user_id
        assert decodes.calls == 1

    async def test_remembers_at_most_cache_size_dropping_the_least_recently_used(
        self, key: SigningKey, decodes: Decodes
    ) -> None:
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, cache_size=2)
        one, two, three = token_by(key), token_by(key), token_by(key)
        await verifier.verify(one)
        await verifier.verify(two)
        await verifier.verify(one)  # now the most recently used
        await verifier.verify(three)  # drops two
        assert decodes.calls == 3
        await verifier.verify(one)
        await verifier.verify(three)
        assert decodes.calls == 3
        await verifier.verify(two)
        assert decodes.calls == 4

    async def test_refused_tokens_are_not_remembered_nor_push_out_good_ones(
        self, key: SigningKey, decodes: Decodes
    ) -> None:
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, cache_size=1)
        good = token_by(key)
        await verifier.verify(good)
        forged = token_by(SigningKey(Ed25519PrivateKey.generate(), key.kid))
        for _ in range(3):
            await assert_refused(verifier, forged)
        assert decodes.calls == 4, "each forgery is checked, every time"
        await verifier.verify(good)
        assert decodes.calls == 4

    async def test_a_token_of_a_key_rotated_out_is_refused_though_remembered(
        self, key: SigningKey, clock: FakeClock
    ) -> None:
        fetch = CountingJwks(key)
        verifier = TokenVerifier(
            PublicKeys(fetch, clock=clock, min_refresh_seconds=30), issuer=ISSUER
        )
        old = token_by(key)
        await verifier.verify(old)

        rotated = new_key()
        fetch.keys = [rotated]
        clock.now += 31
        await verifier.verify(token_by(rotated))  # fetches the new key set
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(old)
