"""Per-client rate limits at the gateway: tight on login and register, shared via Redis."""

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.support import Platform, Process, expect_error, free_port, get_json, wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, int]]:
    """Two gateways sharing rate limits through Redis (and discovery), no services:
    refused requests never reach an instance, and the rest get 503."""
    prefix = f"litcomp-test-{uuid.uuid4().hex[:8]}"
    platform = Platform.create(
        tmp_path_factory.mktemp("limited"),
        {
            "LITCOMP_REDIS_URL": REDIS_URL,
            "LITCOMP_REDIS_PREFIX": prefix,
            "LITCOMP_GATEWAY_AUTH_RATE_PER_MINUTE": "6",
            "LITCOMP_GATEWAY_AUTH_BURST": "4",
            # One token a minute: twelve requests must not see a refill however slowly a
            # loaded machine sends them (at one a second, the eleventh sometimes passed).
            "LITCOMP_GATEWAY_RATE_PER_SECOND": "0.0167",
            "LITCOMP_GATEWAY_RATE_BURST": "10",
        },
        replicas={},
    )
    platform.discovery.start()
    wait_until(lambda: get_json(f"{platform.discovery_url}/health"), "discovery")
    platform.gateway.start()
    second = _second_gateway(platform)
    second.start()
    for port in (platform.gateway_port, int(second.env["LITCOMP_GATEWAY_PORT"])):
        wait_until(lambda port=port: get_json(f"http://127.0.0.1:{port}/health"), "gateways")
    yield platform, int(second.env["LITCOMP_GATEWAY_PORT"])
    second.stop()
    platform.gateway.stop()
    platform.discovery.stop()
    asyncio.run(_forget(prefix))


def _second_gateway(platform: Platform) -> Process:
    return platform.child("gateway", "gateway-2", LITCOMP_GATEWAY_PORT=str(free_port()))


async def _forget(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    async for key in redis.scan_iter(f"{prefix}:*"):
        await redis.delete(key)
    await redis.aclose()


def test_logins_are_limited_across_gateways(limited: tuple[Platform, int]):
    platform, second_port = limited
    ports = [platform.gateway_port, second_port]
    answers = []
    for attempt in range(6):  # alternate between the two gateways
        url = f"http://127.0.0.1:{ports[attempt % 2]}/users/login"
        answers.append(httpx.post(url, json={"email": "a@example.com", "password": "guess"}))
    assert [a.status_code for a in answers[:4]] == [503] * 4  # allowed, but no users instance
    refused = answers[4]
    assert expect_error(refused, 429)["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10  # a token every 10 s
    assert answers[5].status_code == 429


def test_other_requests_have_their_own_larger_bucket(limited: tuple[Platform, int]):
    platform, _ = limited
    statuses = [httpx.get(f"{platform.url}/competitions").status_code for _ in range(12)]
    assert statuses[:10] == [503] * 10
    assert statuses[10:] == [429, 429]
    assert httpx.get(f"{platform.url}/health").status_code == 200  # probes: never limited
