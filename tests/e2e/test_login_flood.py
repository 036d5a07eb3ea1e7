"""A flood of logins through the real gateway, on the embedded default (SQLite): the
users instance checks one password per core and lets LITCOMP_PASSWORD_QUEUE wait; the
rest are refused at once, 503 ``overloaded`` with Retry-After, so no answer comes after
the gateway's deadline and its breaker on users stays closed."""

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from litcomp.gateway.settings import GatewaySettings
from tests.support import PASSWORD, Platform, expect_error, get_json, log_in, sign_up

QUEUE = 2  # waiting, besides one running per core: a flood of FLOOD overfills it
FLOOD = 24
DEADLINE = GatewaySettings.model_fields["gateway_timeout_seconds"].default  # 5 s


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform.create(
        tmp_path_factory.mktemp("login-flood"),
        {"LITCOMP_PASSWORD_QUEUE": str(QUEUE)},
        replicas={"users": 1},
    )
    running.start()
    yield running
    running.stop()


async def timed_login(http: httpx.AsyncClient, email: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await http.post("/users/login", json={"email": email, "password": PASSWORD})
    return response, time.perf_counter() - started


async def flood(url: str, email: str) -> list[tuple[httpx.Response, float]]:
    async with httpx.AsyncClient(base_url=url, timeout=2 * DEADLINE) as http:
        return await asyncio.gather(*(timed_login(http, email) for _ in range(FLOOD)))


def test_a_login_flood_is_answered_in_time_and_leaves_the_breaker_closed(platform: Platform):
    with httpx.Client(base_url=platform.url, timeout=10) as users:
        account = sign_up(users, "flooded")
        answers = asyncio.run(flood(platform.url, account.email))

        statuses = sorted(response.status_code for response, _ in answers)
        assert set(statuses) == {200, 503}, statuses  # some logged in, the rest refused
        for response, seconds in answers:
            assert seconds < DEADLINE, f"{response.status_code} after {seconds:.1f} s"
            if response.status_code == 503:
                assert expect_error(response, 503)["code"] == "overloaded"
                assert int(response.headers["Retry-After"]) >= 1

        [instance] = get_json(f"{platform.url}/gateway/status")["services"]["users"]
        assert instance["breaker"] == "closed"
        log_in(users, account.email, account.username)  # as if nothing had happened
