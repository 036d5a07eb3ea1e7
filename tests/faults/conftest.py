from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support import Platform

# Short timeouts and cooldowns so faults show within seconds.
FAST_FAILURE = {
    "LITCOMP_GATEWAY_BALANCER": "round_robin",  # test_replicas counts requests per turn
    "LITCOMP_GATEWAY_TIMEOUT_SECONDS": "0.5",
    # The faults hit competitions replicas. Sign-ups and logins (argon2, ~0.1 s of CPU
    # each) took over 0.5 s on a busy machine, and the test failed before its fault.
    "LITCOMP_GATEWAY_ROUTE_TIMEOUTS": '{"/users": 10}',
    "LITCOMP_GATEWAY_BREAKER_COOLDOWN_SECONDS": "2",
    "LITCOMP_DISCOVERY_TTL_SECONDS": "2",
    "LITCOMP_DISCOVERY_GRACE_SECONDS": "1",
}


def make_platform(
    tmp_path_factory: pytest.TempPathFactory,
    make_database: Callable[[str], str],
    name: str,
    settings: dict[str, str],
    competitions: int,
) -> Platform:
    return Platform.create(
        tmp_path_factory.mktemp(name),
        {
            "LITCOMP_USERS_DATABASE_URL": make_database(f"{name}_users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": make_database(f"{name}_competitions"),
            **settings,
        },
        replicas={"users": 1, "competitions": competitions},
    )


def requests_per_instance(client: httpx.Client) -> dict[str, int]:
    status = client.get("/gateway/status").json()
    return {i["instance_id"]: i["requests"] for i in status["services"]["competitions"]}


def breaker_states(client: httpx.Client) -> dict[str, str]:
    status = client.get("/gateway/status").json()
    return {i["instance_id"]: i["breaker"] for i in status["services"]["competitions"]}


@pytest.fixture(scope="module")
def gateway_client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    platform: Platform = request.getfixturevalue("platform_under_test")
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        yield client
