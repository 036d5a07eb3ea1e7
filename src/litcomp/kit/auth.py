"""JSON Web Tokens: users signs them with an Ed25519 key, every service verifies them locally.

Only the users service holds the private key. It publishes the public half as a
JWKS document; other services fetch that once, cache it, and fetch again only when
a token names a key id (``kid``) they have not seen, so verifying costs no call.
Only ``EdDSA`` is accepted: ``alg=none`` and HMAC-with-the-public-key tricks fail.
A good token of a suspended user is refused too (``kit.suspensions``).
A verified token is remembered until it expires, so a request repeating it skips the
signature check (``TokenVerifier``).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from litcomp.kit.errors import Unauthorized, Unavailable
from litcomp.kit.suspensions import Suspensions, suspended_error
from litcomp.kit.times import utcnow

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
# Hosts' clocks differ a little: a token issued "in a second" elsewhere is still good.
CLOCK_SKEW_SECONDS = 30
ROLES = ("user", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is making a request, as proven by their token."""

    user_id: uuid.UUID
    role: str
    username: str = ""  # from the "name" claim; usernames never change
    # The "ev" claim: whether the address was verified when the token was issued (a
    # verification reaches the token at its next renewal).
    email_verified: bool = False
    # The "sid" claim: the session (refresh-token family) the token was issued in.
    session_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the JWT signing key must be an Ed25519 private key")
        return cls(key, _thumbprint(key.public_key()))

    @classmethod
    def load_or_create(cls, path: Path) -> "SigningKey":
        """Read the key at ``path``, creating it first if there is none.

        Replicas starting together may race to create it: the file appears
        atomically (hard link of a finished temporary file), and the loser reads
        the winner's key.
        """
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            temporary = Path(name)  # mkstemp makes it readable by its owner only
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            try:
                os.link(temporary, path)
                log.info("generated a new JWT signing key", extra={"path": str(path)})
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        return cls.from_pem(path.read_bytes())

    def public_jwk(self) -> dict[str, str]:
        jwk = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.public_jwk()]}

    def derive_secret(self, purpose: str) -> bytes:
        """A 32-byte secret for ``purpose`` (say, MACs of account tokens), derived from
        the private key: every replica that can sign tokens has it, and no other
        setting has to be kept secret and in step."""
        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return hmac.new(raw, f"litcomp derived secret: {purpose}".encode(), "sha256").digest()

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        role: str,
        issuer: str,
        ttl: timedelta,
        username: str = "",
        email_verified: bool = False,
        session_id: uuid.UUID | None = None,
    ) -> tuple[str, datetime]:
        issued_at = utcnow()
        expires_at = issued_at + ttl
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "name": username,
            "role": role,
            "ev": email_verified,
            "iss": issuer,
            "iat": issued_at,
            "exp": expires_at,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        token = jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, expires_at


def _thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: a key id that every party can recompute from the key."""
    jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class PublicKeys:
    """The public keys tokens may be signed with, by ``kid``, refreshed on demand.

    ``fetch`` returns a JWKS document. An unknown ``kid`` triggers one fetch, shared by
    every request waiting on it; after a successful fetch the next may come only
    ``min_refresh_seconds`` later (forged kids cannot cause a flood of fetches), after
    a failed one ``retry_seconds`` later (an outage answers 503 at once, not after a
    fetch timeout per request).
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refresh_seconds: float = 30.0,
        retry_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_refresh = min_refresh_seconds
        self._retry = retry_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._next_fetch = float("-inf")
        self._failed = False
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, key: SigningKey) -> "PublicKeys":
        async def own() -> Mapping[str, Any]:
            return key.jwks()

        return cls(own)

    def known(self, kid: str) -> Any:
        """The key of ``kid`` as last fetched, or None: never fetches."""
        return self._keys.get(kid)

    async def get(self, kid: str) -> Any:
        if kid not in self._keys:
            async with self._lock:  # one fetch at a time; the others wait for its result
                if kid not in self._keys and self._clock() >= self._next_fetch:
                    await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        if self._failed:
            raise Unavailable("the token signing keys cannot be fetched right now")
        raise Unauthorized("the token was signed with an unknown key")

    async def _refresh(self) -> None:
        try:
            document = await self._fetch()
            key_set = jwt.PyJWKSet.from_dict(dict(document))
        except (Unavailable, jwt.PyJWTError, TypeError, ValueError) as error:
            self._failed = True
            self._next_fetch = self._clock() + self._retry
            log.warning("cannot fetch the token signing keys: %r", error)
            raise Unavailable("the token signing keys cannot be fetched right now") from None
        self._keys = {key.key_id: key.key for key in key_set.keys if key.key_id}
        self._failed = False
        self._next_fetch = self._clock() + self._min_refresh


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature and claims passed: who it proves, until when, by which key."""

    principal: Principal
    refused_from: float  # wall-clock seconds: its exp plus the leeway jwt.decode gives
    kid: str
    key: Any


class TokenVerifier:
    """Turns a token into its ``Principal``, or raises ``Unauthorized`` (not ours, expired,
    malformed) or, when given ``suspensions``, ``Forbidden`` with code ``suspended`` for a
    good token of a suspended user: who they are is proven, what they may do is nothing,
    and logging in again would not help (so not a 401, which clients answer by doing so).

    The last ``cache_size`` tokens that passed are remembered (least recently used
    dropped first), so a client repeating its token costs a lookup, not a signature
    check. A remembered token is still refused once it expires, and checked against the
    suspensions on every use. Only tokens that passed are remembered, so forgeries
    cannot fill the cache; and real tokens, however many, only up to the bound.
    """

    def __init__(
        self,
        keys: PublicKeys,
        *,
        issuer: str,
        suspensions: Suspensions | None = None,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._suspensions = suspensions
        self._cache_size = cache_size
        self._clock = clock  # wall clock, as "exp" is
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        verified = self._remembered(token)
        if verified is None:
            verified = await self._check(token)
            self._verified[token] = verified
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        if self._suspensions is not None:
            reason = self._suspensions.reason(verified.principal.user_id)
            if reason is not None:
                raise suspended_error(reason)
        return verified.principal

    def _remembered(self, token: str) -> _Verified | None:
        verified = self._verified.get(token)
        if verified is None:
            return None
        # Only while the key that signed it is still the one known for its kid: a key
        # rotated out (perhaps because it leaked) stops being known at the next fetch of
        # the key set, and its tokens are then refused exactly as without the cache, not
        # honoured until an exp its holder chose. Any fetch makes new key objects, so
        # after one each remembered token is checked once more: rare, and cheap.
        if self._keys.known(verified.kid) is not verified.key:
            del self._verified[token]
            return None
        if self._clock() >= verified.refused_from:
            del self._verified[token]
            raise Unauthorized("the token has expired", code="token_expired")
        self._verified.move_to_end(token)
        return verified

    async def _check(self, token: str) -> _Verified:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the token is malformed") from None
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise Unauthorized("the token is not signed the way litcomp signs tokens")
        key = await self._keys.get(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["sub", "exp", "iss", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("the token is invalid") from None
        try:
            user_id = uuid.UUID(claims["sub"])
        except (ValueError, TypeError):
            raise Unauthorized("the token is invalid") from None
        if claims["role"] not in ROLES:
            raise Unauthorized("the token is invalid")
        username = claims.get("name", "")
        principal = Principal(
            user_id=user_id,
            role=claims["role"],
            username=username if isinstance(username, str) else "",
            email_verified=claims.get("ev") is True,
            session_id=_session_id(claims.get("sid")),
        )
        # jwt.decode refuses once int(exp) <= now - leeway, and accepted this one.
        return _Verified(principal, int(claims["exp"]) + CLOCK_SKEW_SECONDS, header["kid"], key)


def _session_id(claim: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(claim) if isinstance(claim, str) else None
    except ValueError:
        return None
