"""Who is suspended, as an instance keeps it (``kit.suspensions``), and the token
verifier that consults it: a suspended user's good token is 403 ``suspended``."""

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from litcomp.competitions.notifications.sockets import MAX_REASON_BYTES, close_reason
from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.errors import Forbidden, Unauthorized, Unavailable
from litcomp.kit.suspensions import Suspensions, suspended_error

ALICE, BOB = uuid.uuid4(), uuid.uuid4()
ISSUER = "litcomp-users"


def new_key() -> SigningKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningKey.from_pem(pem)


class Source:
    """The source of truth, as a refresh sees it: a map, or an outage."""

    def __init__(self, reasons: Mapping[uuid.UUID, str] | None = None) -> None:
        self.reasons = dict(reasons or {})
        self.down = False
        self.calls = 0

    async def __call__(self) -> Mapping[uuid.UUID, str]:
        self.calls += 1
        if self.down:
            raise Unavailable("users is down")
        return dict(self.reasons)


def suspensions(source: Source, seconds: float = 60.0) -> Suspensions:
    return Suspensions(source, refresh_seconds=seconds)


class TestTheMap:
    def test_nobody_is_suspended_before_the_first_refresh(self) -> None:
        known = suspensions(Source({ALICE: "spam"}))
        assert ALICE not in known
        assert known.reason(ALICE) is None

    async def test_a_refresh_brings_the_source_s_map(self) -> None:
        known = suspensions(Source({ALICE: "spam"}))
        assert await known.refresh()
        assert ALICE in known and BOB not in known
        assert known.reason(ALICE) == "spam"

    async def test_a_refresh_drops_the_lifted(self) -> None:
        source = Source({ALICE: "spam", BOB: "abuse"})
        known = suspensions(source)
        await known.refresh()
        del source.reasons[ALICE]
        await known.refresh()
        assert ALICE not in known and BOB in known

    def test_suspend_and_lift_act_at_once(self) -> None:
        known = suspensions(Source())
        known.suspend(ALICE, "spam")
        assert known.reason(ALICE) == "spam"
        known.suspend(ALICE, "plagiarism")
        assert known.reason(ALICE) == "plagiarism"
        known.lift(ALICE)
        assert ALICE not in known
        known.lift(ALICE)  # lifting again is nothing


class TestOutages:
    async def test_an_outage_keeps_the_last_map(self) -> None:
        source = Source({ALICE: "spam"})
        known = suspensions(source)
        await known.refresh()
        source.down = True
        assert not await known.refresh()
        assert known.reason(ALICE) == "spam"

    async def test_an_outage_is_logged_once_as_it_starts_and_once_as_it_ends(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        source = Source()
        known = suspensions(source)
        source.down = True
        with caplog.at_level(logging.INFO, logger="litcomp.kit.suspensions"):
            for _ in range(3):
                await known.refresh()
            source.down = False
            await known.refresh()
            await known.refresh()
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2
        assert "keeping the last known" in messages[0]
        assert "again" in messages[1]


class TestListeners:
    async def test_hear_only_the_newly_suspended(self) -> None:
        source = Source({ALICE: "spam"})
        known = suspensions(source)
        heard: list[set[uuid.UUID]] = []
        known.on_suspended(heard.append)
        await known.refresh()
        await known.refresh()  # nothing new
        source.reasons[BOB] = "abuse"
        await known.refresh()
        known.suspend(BOB, "still abuse")  # already known
        assert heard == [{ALICE}, {BOB}]

    def test_hear_a_suspension_made_here(self) -> None:
        known = suspensions(Source())
        heard: list[set[uuid.UUID]] = []
        known.on_suspended(heard.append)
        known.suspend(ALICE, "spam")
        assert heard == [{ALICE}]

    def test_a_failing_listener_does_not_stop_the_others(self) -> None:
        known = suspensions(Source())
        heard: list[set[uuid.UUID]] = []

        def broken(_: set[uuid.UUID]) -> None:
            raise RuntimeError("boom")

        known.on_suspended(broken)
        known.on_suspended(heard.append)
        known.suspend(ALICE, "spam")
        assert ALICE in known and heard == [{ALICE}]


async def test_the_loop_refreshes_every_interval_until_stopped() -> None:
    source = Source({ALICE: "spam"})
    known = suspensions(source, seconds=0.01)
    await known.start()
    try:
        for _ in range(200):
            if source.calls >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await known.stop()
    assert source.calls >= 3
    assert ALICE in known
    calls = source.calls
    await asyncio.sleep(0.03)
    assert source.calls == calls


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key()


class TestTokenVerifier:
    def token(self, key: SigningKey, user_id: uuid.UUID) -> str:
        token, _ = key.issue(user_id=user_id, role="user", issuer=ISSUER, ttl=timedelta(minutes=5))
        return token

    async def test_refuses_a_suspended_user_s_good_token_with_403_and_the_reason(
        self, key: SigningKey
    ) -> None:
        known = suspensions(Source())
        known.suspend(ALICE, "spam, again")
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, suspensions=known)
        with pytest.raises(Forbidden) as caught:
            await verifier.verify(self.token(key, ALICE))
        assert (caught.value.status, caught.value.code) == (403, "suspended")
        assert "spam, again" in caught.value.message
        assert (await verifier.verify(self.token(key, BOB))).user_id == BOB

    async def test_takes_the_token_again_once_lifted(self, key: SigningKey) -> None:
        known = suspensions(Source())
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, suspensions=known)
        token = self.token(key, ALICE)
        known.suspend(ALICE, "spam")
        with pytest.raises(Forbidden):
            await verifier.verify(token)
        known.lift(ALICE)
        assert (await verifier.verify(token)).user_id == ALICE

    async def test_a_bad_token_of_a_suspended_user_is_still_a_401(self, key: SigningKey) -> None:
        """The signature first: a 403 would tell a forger that the account is suspended."""
        known = suspensions(Source())
        known.suspend(ALICE, "spam")
        verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER, suspensions=known)
        forged = self.token(new_key(), ALICE)
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)


def test_the_message_carries_the_reason() -> None:
    error = suspended_error("Ünïcödé 🙂 reason")
    assert (error.status, error.code) == (403, "suspended")
    assert error.message == "your account is suspended: Ünïcödé 🙂 reason"


@pytest.mark.parametrize(
    "text",
    ["short", "x" * 500, "é" * 200, "🙂" * 100, "a" + "🙂" * 40],
)
def test_a_socket_s_close_reason_fits_a_close_frame_and_cuts_at_a_character(text: str) -> None:
    reason = close_reason(text)
    assert len(reason.encode()) <= MAX_REASON_BYTES
    assert text.startswith(reason)
    assert len(reason.encode()) > MAX_REASON_BYTES - 4 or reason == text
