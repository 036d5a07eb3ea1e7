"""When the other service is down, endpoints that need it answer 503 JSON, never 500."""

from collections.abc import Iterator

import httpx
import pytest

from tests.support import Platform, expect_error, sign_up


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform on SQLite whose services the tests start and stop one by one."""
    platform = Platform.create(tmp_path_factory.mktemp("degraded"))
    yield platform
    for instance in (platform.users, platform.competitions):
        if instance.process is not None:
            instance.stop()


def test_users_without_competitions(lone: Platform):
    lone.users.start()
    with httpx.Client(base_url=lone.users.url, timeout=10) as users:
        reader = sign_up(users, "lonely")
        some_id = "3f8a1c2e-0000-4000-8000-000000000000"
        assert (
            expect_error(users.post(f"/users/subscribe/{some_id}", headers=reader.auth), 503)[
                "code"
            ]
            == "unavailable"
        )
        expect_error(users.get("/users/profile/submissions", headers=reader.auth), 503)
        assert users.get("/users/profile", headers=reader.auth).status_code == 200
    lone.users.stop()


def test_competitions_without_users(lone: Platform):
    lone.competitions.start()
    with httpx.Client(base_url=lone.competitions.url, timeout=10) as competitions:
        assert competitions.get("/competitions").status_code == 200
        # Tokens cannot be checked before users has published its keys once.
        forged = {"Authorization": "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.c2ln"}
        body = {"title": "t", "start_date": "2030-01-01", "end_date": "2030-02-01"}
        expect_error(competitions.post("/competitions", json=body, headers=forged), 503)
