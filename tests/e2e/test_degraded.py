"""When the other service is down, endpoints that need it answer 503 JSON, never 500."""

from collections.abc import Iterator
from typing import Any

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


def document(platform: Platform) -> dict[str, Any]:
    """The gateway's merged OpenAPI document (never an error, whatever is down)."""
    response = httpx.get(f"{platform.url}/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    merged: dict[str, Any] = response.json()
    return merged


def test_the_api_document_with_no_service_up(lone: Platform):
    merged = document(lone)
    assert set(merged["paths"]) == {
        "/health",
        "/gateway/status",
        "/metrics",
        "/openapi.json",
        "/asyncapi.json",
        "/sitemap.xml",
        "/robots.txt",
    }
    assert "no instance of competitions, users answered" in merged["info"]["description"]
    assert httpx.get(f"{lone.url}/docs", timeout=10).status_code == 200


def test_users_without_competitions(lone: Platform):
    [users_process] = lone.replicas["users"]
    users_process.start()
    lone.wait_for_instances()
    with httpx.Client(base_url=lone.url, timeout=10) as client:
        reader = sign_up(client, "lonely")
        some_id = "3f8a1c2e-0000-4000-8000-000000000000"
        refused = client.post(f"/users/subscribe/{some_id}", headers=reader.auth)
        assert expect_error(refused, 503)["code"] == "unavailable"
        assert refused.headers["Retry-After"] == "1"  # documented with every 503
        expect_error(client.get("/users/profile/submissions", headers=reader.auth), 503)
        assert client.get("/users/profile", headers=reader.auth).status_code == 200
        # A public profile still answers, without the portfolio competitions would give.
        seen = client.get(f"/users/{reader.user_id}")
        assert seen.status_code == 200, seen.text
        assert (seen.json()["user_id"], seen.json()["entries"], seen.json()["medals"]) == (
            reader.user_id,
            None,
            None,
        )
        # No competitions instance at all: the gateway itself answers.
        nobody = client.get("/competitions")
        assert expect_error(nobody, 503)["code"] == "unavailable"
        assert nobody.headers["Retry-After"] == "1"

    # The document has what users describes, and says what is missing.
    def users_only() -> bool:
        paths = document(lone)["paths"]
        return "/users/login" in paths and "/competitions" not in paths

    wait_until(users_only, "the gateway to fetch users' document", timeout=10)
    assert "no instance of competitions answered" in document(lone)["info"]["description"]
    users_process.stop()


def test_competitions_without_users(lone: Platform):
    [competitions_process] = lone.replicas["competitions"]
    competitions_process.start()
    lone.wait_for_instances()
    # users is gone now: its part of the document is the one it gave before.
    wait_until(
        lambda: "/competitions" in document(lone)["paths"], "competitions' document", timeout=10
    )
    merged = document(lone)
    assert {"/users/login", "/competitions", "/notifications"} <= set(merged["paths"])
    assert "Incomplete" not in merged["info"]["description"]
    with httpx.Client(base_url=lone.url, timeout=10) as client:
        assert client.get("/competitions").status_code == 200
        # Tokens cannot be checked before users has published its keys once.
        forged = {"Authorization": "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.c2ln"}
        body = {"title": "t", "start_date": "2030-01-01", "end_date": "2030-02-01"}
        expect_error(client.post("/competitions", json=body, headers=forged), 503)
