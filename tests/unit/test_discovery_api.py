"""The discovery HTTP API, in-process, on the memory registry.

httpx's ASGI transport does not run the lifespan, and the lifespan is what puts the
registry in place, so each client runs inside ``app.router.lifespan_context``.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from litcomp.discovery.app import create_app
from litcomp.discovery.settings import DiscoverySettings
from tests.support import free_port

TTL = 7.0


def registration(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"service": "users", "instance_id": "users-1", "host": "10.0.0.5"}
    body["http_port"] = 8001
    body.update(fields)
    return body


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(DiscoverySettings(redis_url=None, discovery_ttl_seconds=TTL))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://discovery") as client:
            yield client


def assert_error(response: httpx.Response, status_code: int, code: str) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


async def listed(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/discovery/instances", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


class TestRegister:
    async def test_registering_answers_201_with_the_instance_and_the_ttl(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/discovery/instances", json=registration())
        assert response.status_code == 201, response.text
        assert response.json() == {
            "instance": {
                "service": "users",
                "instance_id": "users-1",
                "host": "10.0.0.5",
                "http_port": 8001,
                "grpc_port": 0,
                "ws_port": 0,
                "version": "",
                "load": 0,
                "restarts": 0,
            },
            "ttl_seconds": TTL,
        }

    async def test_a_registered_instance_is_listed(self, client: httpx.AsyncClient) -> None:
        body = registration(grpc_port=9001, ws_port=9002, version="1.0.0", load=3, restarts=2)
        await client.post("/discovery/instances", json=body)
        assert await listed(client) == [body]

    async def test_registering_again_replaces(self, client: httpx.AsyncClient) -> None:
        await client.post("/discovery/instances", json=registration(http_port=8001))
        await client.post("/discovery/instances", json=registration(http_port=8002))
        assert [i["http_port"] for i in await listed(client)] == [8002]

    @pytest.mark.parametrize(
        ("body", "location"),
        [
            (registration(service="Users!"), "body.service"),
            (registration(service="users service"), "body.service"),
            (registration(service=""), "body.service"),
            (registration(instance_id="a/b"), "body.instance_id"),
            (registration(http_port=0), "body.http_port"),
            (registration(http_port=70000), "body.http_port"),
            (registration(grpc_port=-1), "body.grpc_port"),
            (registration(grpc_port=70000), "body.grpc_port"),
            (registration(load=-1), "body.load"),
            (registration(restarts=-1), "body.restarts"),
            (registration(host=""), "body.host"),
            (registration(host="evil.example/path"), "body.host"),
            ({k: v for k, v in registration().items() if k != "host"}, "body.host"),
            ({k: v for k, v in registration().items() if k != "http_port"}, "body.http_port"),
            (registration(weight=5), "body.weight"),
        ],
    )
    async def test_an_invalid_registration_is_422_naming_the_field(
        self, client: httpx.AsyncClient, body: dict[str, Any], location: str
    ) -> None:
        response = await client.post("/discovery/instances", json=body)
        error = assert_error(response, 422, "validation_failed")
        assert [detail["location"] for detail in error["details"]] == [location]
        assert await listed(client) == []

    async def test_a_body_that_is_not_json_is_400(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/discovery/instances", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "bad_request")


class TestHeartbeat:
    async def test_a_heartbeat_answers_200_and_records_the_load(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.post("/discovery/instances", json=registration())
        response = await client.put(
            "/discovery/instances/users/users-1/heartbeat", json={"load": 5}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"ttl_seconds": TTL}
        assert [i["load"] for i in await listed(client)] == [5]

    async def test_the_load_defaults_to_zero(self, client: httpx.AsyncClient) -> None:
        await client.post("/discovery/instances", json=registration(load=4))
        response = await client.put("/discovery/instances/users/users-1/heartbeat", json={})
        assert response.status_code == 200, response.text
        assert [i["load"] for i in await listed(client)] == [0]

    async def test_a_heartbeat_for_an_unknown_instance_is_404_not_registered(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.post("/discovery/instances", json=registration())
        for path in ("users/users-2", "competitions/users-1"):
            response = await client.put(f"/discovery/instances/{path}/heartbeat", json={"load": 1})
            assert_error(response, 404, "not_registered")
        assert [i["instance_id"] for i in await listed(client)] == ["users-1"]

    async def test_a_negative_load_is_422(self, client: httpx.AsyncClient) -> None:
        await client.post("/discovery/instances", json=registration())
        response = await client.put(
            "/discovery/instances/users/users-1/heartbeat", json={"load": -1}
        )
        error = assert_error(response, 422, "validation_failed")
        assert [detail["location"] for detail in error["details"]] == ["body.load"]

    async def test_a_malformed_service_name_in_the_path_names_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.put("/discovery/instances/Users!/users-1/heartbeat", json={})
        assert_error(response, 404, "not_found")


class TestDeregister:
    async def test_deregistering_answers_204_and_the_instance_is_gone(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.post("/discovery/instances", json=registration(instance_id="a"))
        await client.post("/discovery/instances", json=registration(instance_id="b"))
        response = await client.delete("/discovery/instances/users/a")
        assert response.status_code == 204
        assert response.content == b""
        assert [i["instance_id"] for i in await listed(client)] == ["b"]
        heartbeat = await client.put("/discovery/instances/users/a/heartbeat", json={})
        assert_error(heartbeat, 404, "not_registered")

    async def test_deregistering_an_unknown_instance_is_still_204(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.delete("/discovery/instances/users/nobody")
        assert response.status_code == 204


class TestList:
    async def test_the_service_parameter_filters(self, client: httpx.AsyncClient) -> None:
        for service, instance_id in [("users", "u-1"), ("competitions", "c-1"), ("users", "u-2")]:
            body = registration(service=service, instance_id=instance_id)
            assert (await client.post("/discovery/instances", json=body)).status_code == 201
        assert [i["instance_id"] for i in await listed(client, service="users")] == ["u-1", "u-2"]
        assert [i["instance_id"] for i in await listed(client, service="competitions")] == ["c-1"]
        assert await listed(client, service="notifications") == []
        assert [(i["service"], i["instance_id"]) for i in await listed(client)] == [
            ("competitions", "c-1"),
            ("users", "u-1"),
            ("users", "u-2"),
        ]

    async def test_a_malformed_service_parameter_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/discovery/instances", params={"service": "Users!"})
        error = assert_error(response, 422, "validation_failed")
        assert [detail["location"] for detail in error["details"]] == ["query.service"]


async def test_a_registry_that_cannot_be_reached_answers_503_not_500() -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(DiscoverySettings(redis_url=nobody, discovery_ttl_seconds=TTL))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://discovery") as client:
            answer = await client.post("/discovery/instances", json=registration())
            assert_error(answer, 503, "unavailable")
            assert answer.headers["Retry-After"] == "1"
            heartbeat = await client.put(
                "/discovery/instances/users/users-1/heartbeat", json={"load": 0}
            )
            assert_error(heartbeat, 503, "unavailable")
