"""When the other service is down, endpoints that need it answer 503 JSON, never 500."""

from collections.abc import Iterator

import httpx
import pytest

from tests.support import Platform, expect_error, get_json, sign_up, wait_until


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform on SQLite whose services the tests start and stop one by one."""
    platform = Platform.create(tmp_path_factory.mktemp("degraded"))
    platform.discovery.start()
    wait_until(lambda: get_json(f"{platform.discovery_url}/health"), "discovery")
    platform.gateway.start()
    wait_until(lambda: get_json(f"{platform.url}/health"), "the gateway")
    yield platform
    platform.stop()


def test_users_without_competitions(lone: Platform):
    [users_process] = lone.replicas["users"]
    users_process.start()
    lone.wait_for_instances()
    with httpx.Client(base_url=lone.url, timeout=10) as client:
        reader = sign_up(client, "lonely")
        some_id = "3f8a1c2e-0000-4000-8000-000000000000"
        refused = client.post(f"/users/subscribe/{some_id}", headers=reader.auth)
        assert expect_error(refused, 503)["code"] == "unavailable"
        expect_error(client.get("/users/profile/submissions", headers=reader.auth), 503)
        assert client.get("/users/profile", headers=reader.auth).status_code == 200
        # No competitions instance at all: the gateway itself answers.
        nobody = client.get("/competitions")
        assert expect_error(nobody, 503)["code"] == "unavailable"
        assert nobody.headers["Retry-After"] == "1"
    users_process.stop()


def test_competitions_without_users(lone: Platform):
    [competitions_process] = lone.replicas["competitions"]
    competitions_process.start()
    lone.wait_for_instances()
    with httpx.Client(base_url=lone.url, timeout=10) as client:
        assert client.get("/competitions").status_code == 200
        # Tokens cannot be checked before users has published its keys once.
        forged = {"Authorization": "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.c2ln"}
        body = {"title": "t", "start_date": "2030-01-01", "end_date": "2030-02-01"}
        expect_error(client.post("/competitions", json=body, headers=forged), 503)
