"""litcomp.kit.http: the HTTP edge every service shares.

A tiny app built with ``create_app`` is driven in-process through httpx's ASGI
transport: no server, no network. The lifespan does not run under that transport,
which is fine: ``create_app`` itself sets up what the operations routes need.
"""

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from itertools import count
from typing import Annotated, Any, Literal

import httpx
import pytest
import sqlalchemy.exc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI, Request, status
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier
from litcomp.kit.errors import (
    MAX_BODY_BYTES,
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    Overloaded,
    Unavailable,
)
from litcomp.kit.http import (
    ArrayLimit,
    CurrentUser,
    MaybeUser,
    Offset,
    QueryModel,
    SessionDep,
    create_app,
    error_responses,
)
from litcomp.kit.logging import request_id_var

ISSUER = "litcomp-test"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_service_numbers = count()


class ThingIn(BaseModel):
    name: str = Field(min_length=1)
    count: int


Shelf = Literal["new", "old"]
Label = Annotated[str, Field(min_length=1, max_length=8, description="on the spine")]


class Browse(BaseModel):
    shelf: Shelf = "new"
    limit: ArrayLimit = 100
    offset: Offset = 0
    label: Label | None = None


BROWSE = QueryModel(Browse)


class Teapot(AppError):
    status = 418
    code = "teapot"


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: uuid.UUID) -> dict[str, str]:
        return {"thing_id": str(thing_id)}

    @router.post("/things", status_code=status.HTTP_201_CREATED)
    async def create_thing(thing: ThingIn) -> dict[str, object]:
        return {"name": thing.name, "count": thing.count}

    @router.put("/things/{thing_id}", responses=error_responses(409))
    async def replace_thing(thing_id: uuid.UUID, thing: ThingIn) -> dict[str, str]:
        return {"thing_id": str(thing_id)}

    @router.get("/things/{thing_id}/search")
    async def search(thing_id: uuid.UUID, limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    @router.get("/find")
    async def find(name: str | None = None) -> dict[str, str | None]:
        return {"name": name}

    # The same query twice: as one model (kit.http.QueryModel), and declared.
    @router.get("/browse", openapi_extra=BROWSE.openapi)
    async def browse(request: Request) -> dict[str, object]:
        return BROWSE.parse(request).model_dump()

    @router.get("/browse-declared")
    async def browse_declared(
        shelf: Shelf = "new",
        limit: ArrayLimit = 100,
        offset: Offset = 0,
        label: Label | None = None,
    ) -> dict[str, object]:
        return {"shelf": shelf, "limit": limit, "offset": offset, "label": label}

    @router.get("/errors/conflict")
    async def conflict() -> None:
        raise Conflict("that name is taken", details={"field": "name"})

    @router.get("/errors/custom-code")
    async def custom_code() -> None:
        raise NotFound("no such competition", code="competition_not_found")

    @router.get("/errors/teapot")
    async def teapot() -> None:
        raise Teapot("short and stout")

    @router.get("/errors/forbidden")
    async def forbidden() -> None:
        raise Forbidden("admins only")

    @router.get("/errors/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @router.get("/errors/peer-down")
    async def peer_down() -> None:
        raise Unavailable("the other service is unavailable")

    @router.get("/errors/overloaded")
    async def overloaded() -> None:
        raise Overloaded("too much to do", retry_after=7)

    @router.get("/errors/db-down")
    async def db_down() -> None:
        raise sqlalchemy.exc.OperationalError(
            "SELECT secret FROM internals", {}, ConnectionRefusedError("connection refused")
        )

    @router.get("/errors/unavailable/{kind}")
    async def unavailable(kind: str) -> None:
        errors: dict[str, Exception] = {
            "interface": sqlalchemy.exc.InterfaceError("SELECT 1", {}, Exception("gone")),
            "pool-timeout": sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
            "connection": ConnectionRefusedError("refused"),
            "timeout": TimeoutError("timed out"),
        }
        raise errors[kind]

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        body = await request.body()
        request.app.state.echo_calls += 1
        return {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}

    @router.get("/request-id")
    async def current_request_id() -> dict[str, str | None]:
        return {"request_id": request_id_var.get()}

    @router.get("/stored/{thing_id}")
    async def stored(thing_id: uuid.UUID, session: SessionDep) -> None:
        raise AssertionError("only documented here, never called")

    @router.get("/me")
    async def me(principal: CurrentUser) -> dict[str, str]:
        return {"user_id": str(principal.user_id), "role": principal.role}

    @router.get("/maybe-me")
    async def maybe_me(principal: MaybeUser) -> dict[str, str | None]:
        return {"user_id": None if principal is None else str(principal.user_id)}

    return router


def _prefixed_router() -> APIRouter:
    router = APIRouter(prefix="/shelves")

    @router.get("/{shelf_id}/books/{book_id}")
    async def get_book(shelf_id: int, book_id: int) -> dict[str, int]:
        return {"shelf_id": shelf_id, "book_id": book_id}

    return router


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate(), "test-key")


@pytest.fixture
def service() -> str:
    """A service name of its own per test, so metrics from other tests do not interfere."""
    return f"unit_test_{next(_service_numbers)}"


@pytest.fixture
def app(service: str, key: SigningKey) -> FastAPI:
    app = create_app(
        service=service, title="t", lifespan=_lifespan, routers=[_router(), _prefixed_router()]
    )
    app.state.echo_calls = 0
    app.state.token_verifier = TokenVerifier(PublicKeys.of(key), issuer=ISSUER)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_error(response: httpx.Response, status_code: int, code: str) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def locations(error: dict[str, Any]) -> list[str]:
    return [detail["location"] for detail in error["details"]]


def _pattern(total: int) -> bytes:
    """``total`` bytes that are not all alike, so a lost or reordered chunk shows."""
    return (bytes(range(251)) * (total // 251 + 1))[:total]


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    body = _pattern(total)
    for start in range(0, total, size):
        yield body[start : start + size]


class TestAppErrors:
    async def test_app_error_becomes_its_status_and_json_body(
        self, client: httpx.AsyncClient
    ) -> None:
        error = assert_error(await client.get("/errors/conflict"), 409, "conflict")
        assert error == {
            "code": "conflict",
            "message": "that name is taken",
            "details": {"field": "name"},
        }

    async def test_details_default_to_null(self, client: httpx.AsyncClient) -> None:
        error = assert_error(await client.get("/errors/forbidden"), 403, "forbidden")
        assert error["details"] is None

    async def test_a_specific_code_overrides_the_class_code(
        self, client: httpx.AsyncClient
    ) -> None:
        assert_error(await client.get("/errors/custom-code"), 404, "competition_not_found")

    async def test_a_new_subclass_needs_no_registration(self, client: httpx.AsyncClient) -> None:
        error = assert_error(await client.get("/errors/teapot"), 418, "teapot")
        assert error["message"] == "short and stout"


class TestRequestValidation:
    async def test_invalid_body_is_422_listing_each_location(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/things", json={"name": "", "count": "many"})
        error = assert_error(response, 422, "validation_failed")
        details = error["details"]
        assert isinstance(details, list)
        assert sorted(locations(error)) == ["body.count", "body.name"]
        for detail in details:
            assert set(detail) == {"location", "message", "type"}
            assert detail["message"]

    async def test_missing_field_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        error = assert_error(
            await client.post("/things", json={"name": "x"}), 422, "validation_failed"
        )
        assert error["details"] == [
            {"location": "body.count", "message": "Field required", "type": "missing"}
        ]

    async def test_missing_body_is_422(self, client: httpx.AsyncClient) -> None:
        error = assert_error(await client.post("/things"), 422, "validation_failed")
        assert locations(error) == ["body"]

    async def test_valid_body_reaches_the_route(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/things", json={"name": "x", "count": 3})
        assert response.status_code == 201
        assert response.json() == {"name": "x", "count": 3}

    # b"\x80..." is not UTF-8: FastAPI's own 400, which used to carry code "http_error".
    @pytest.mark.parametrize(
        "body", [b"{not json", b'{"name": "x",', b"\xff\xfe", b"\x80abc", b'"\xc3("']
    )
    async def test_malformed_json_is_400(self, client: httpx.AsyncClient, body: bytes) -> None:
        response = await client.post(
            "/things", content=body, headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "bad_request")

    @pytest.mark.parametrize("thing_id", ["not-a-uuid", "123", "0" * 33])
    async def test_malformed_uuid_in_path_is_404(
        self, client: httpx.AsyncClient, thing_id: str
    ) -> None:
        error = assert_error(await client.get(f"/things/{thing_id}"), 404, "not_found")
        assert error["details"] is None

    async def test_bad_query_parameter_is_422_not_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/things/{uuid.uuid4()}/search", params={"limit": "lots"})
        error = assert_error(response, 422, "validation_failed")
        assert locations(error) == ["query.limit"]

    async def test_bad_path_and_bad_query_together_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/things/nope/search", params={"limit": "lots"})
        error = assert_error(response, 422, "validation_failed")
        assert sorted(locations(error)) == ["path.thing_id", "query.limit"]

    async def test_well_formed_uuid_reaches_the_route(self, client: httpx.AsyncClient) -> None:
        thing_id = uuid.uuid4()
        response = await client.get(f"/things/{thing_id}")
        assert response.status_code == 200
        assert response.json() == {"thing_id": str(thing_id)}


class TestRoutingErrors:
    async def test_unknown_route_is_404_json(self, client: httpx.AsyncClient) -> None:
        assert_error(await client.get("/no/such/route"), 404, "not_found")

    async def test_wrong_method_is_405_json_with_allow(self, client: httpx.AsyncClient) -> None:
        response = await client.delete(f"/things/{uuid.uuid4()}")
        assert_error(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]

    async def test_allow_names_every_method_of_the_path(self, client: httpx.AsyncClient) -> None:
        # FastAPI makes a route per method, and Starlette's 405 named only the first
        # route's (GET): schemathesis found it.
        response = await client.options(f"/things/{uuid.uuid4()}")
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET, PUT"
        assert (await client.delete("/things")).headers["allow"] == "POST"

    async def test_a_path_outside_the_document_keeps_starlettes_allow(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/health/live")
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET"


class TestUnexpectedErrors:
    async def test_unexpected_error_is_500_json_without_internals(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/errors/boom")
        error = assert_error(response, 500, "internal")
        assert error["details"] is None
        for leak in ("hunter2", "secret internals", "RuntimeError", "Traceback", ".py"):
            assert leak not in response.text

    async def test_an_unavailable_dependency_raised_by_a_service_is_503_with_retry_after(
        self, client: httpx.AsyncClient
    ) -> None:
        # Documented with Retry-After, like every 503; the AppError path left it out.
        response = await client.get("/errors/peer-down")
        assert_error(response, 503, "unavailable")
        assert response.headers["retry-after"] == "1"

    async def test_an_overloaded_instance_says_how_long_to_wait(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/errors/overloaded")
        assert_error(response, 503, "overloaded")
        assert response.headers["retry-after"] == "7"

    async def test_operational_error_is_503_with_retry_after(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/errors/db-down")
        assert_error(response, 503, "unavailable")
        assert response.headers["retry-after"] == "1"
        assert "SELECT" not in response.text
        assert "refused" not in response.text

    @pytest.mark.parametrize("kind", ["interface", "pool-timeout", "connection", "timeout"])
    async def test_other_unavailable_dependencies_are_503(
        self, client: httpx.AsyncClient, kind: str
    ) -> None:
        response = await client.get(f"/errors/unavailable/{kind}")
        assert_error(response, 503, "unavailable")
        assert response.headers["retry-after"] == "1"


class TestRequestId:
    @pytest.mark.parametrize("incoming", ["abc-123", "A.b_c:d-e", "x" * 128])
    async def test_sane_id_is_echoed_and_visible_to_the_route(
        self, client: httpx.AsyncClient, incoming: str
    ) -> None:
        response = await client.get("/request-id", headers={"x-request-id": incoming})
        assert response.headers["x-request-id"] == incoming
        assert response.json() == {"request_id": incoming}

    @pytest.mark.parametrize(
        "incoming",
        ["has space", "<script>", "a/b", "semi;colon", 'quote"d', "x" * 129, "caf\u00e9"],
    )
    async def test_unsafe_id_is_replaced(self, client: httpx.AsyncClient, incoming: str) -> None:
        headers = [(b"x-request-id", incoming.encode("latin-1"))]
        response = await client.get("/request-id", headers=headers)
        echoed = response.headers["x-request-id"]
        assert echoed != incoming
        assert HEX_ID.match(echoed)
        assert response.json() == {"request_id": echoed}

    async def test_missing_id_is_generated_fresh_each_time(self, client: httpx.AsyncClient) -> None:
        first = (await client.get("/request-id")).headers["x-request-id"]
        second = (await client.get("/request-id")).headers["x-request-id"]
        assert HEX_ID.match(first)
        assert HEX_ID.match(second)
        assert first != second

    async def test_id_is_on_error_responses_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no/such/route", headers={"x-request-id": "trace-me"})
        assert response.headers["x-request-id"] == "trace-me"

    async def test_id_is_on_500_responses_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/errors/boom", headers={"x-request-id": "trace-me"})
        assert response.status_code == 500
        assert response.headers.get("x-request-id") == "trace-me"


class TestBodySizeLimit:
    async def test_declared_length_over_the_limit_is_413(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/echo", content=b"x" * (MAX_BODY_BYTES + 1))
        assert_error(response, 413, "payload_too_large")
        assert "x-request-id" in response.headers
        assert app.state.echo_calls == 0

    async def test_declared_length_at_the_limit_is_delivered(
        self, client: httpx.AsyncClient
    ) -> None:
        body = _pattern(MAX_BODY_BYTES)
        response = await client.post("/echo", content=body)
        assert response.status_code == 200
        assert response.json() == {
            "length": MAX_BODY_BYTES,
            "sha256": hashlib.sha256(body).hexdigest(),
        }

    async def test_chunked_body_over_the_limit_is_413(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        request = client.build_request("POST", "/echo", content=_chunks(MAX_BODY_BYTES + 1))
        assert "content-length" not in request.headers
        response = await client.send(request)
        assert_error(response, 413, "payload_too_large")
        assert app.state.echo_calls == 0

    @pytest.mark.parametrize("size", [0, 1, 100_000, MAX_BODY_BYTES])
    async def test_chunked_body_within_the_limit_is_delivered_intact(
        self, app: FastAPI, client: httpx.AsyncClient, size: int
    ) -> None:
        request = client.build_request("POST", "/echo", content=_chunks(size))
        assert "content-length" not in request.headers
        response = await client.send(request)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "length": size,
            "sha256": hashlib.sha256(_pattern(size)).hexdigest(),
        }
        assert app.state.echo_calls == 1

    async def test_chunked_json_body_is_parsed_by_the_route(
        self, client: httpx.AsyncClient
    ) -> None:
        async def json_chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "chun'
            yield b'ked", "count": 7}'

        response = await client.post(
            "/things", content=json_chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 201
        assert response.json() == {"name": "chunked", "count": 7}


class TestHealth:
    async def test_live_is_always_ok(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        async def broken() -> None:
            raise ConnectionError("database down")

        app.state.health_checks["db"] = broken
        response = await client.get("/health/live")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_ready_with_no_checks_is_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {}}

    async def test_ready_with_passing_checks_is_ok(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        calls: list[str] = []

        async def db() -> None:
            calls.append("db")

        app.state.health_checks["db"] = db
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"db": "ok"}}
        assert calls == ["db"]

    async def test_ready_with_a_failing_check_is_503(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        async def db() -> None:
            raise ConnectionRefusedError("password=hunter2 connection refused")

        async def grpc() -> None:
            return None

        app.state.health_checks["db"] = db
        app.state.health_checks["grpc"] = grpc
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "checks": {"db": "unavailable", "grpc": "ok"},
        }
        assert "hunter2" not in response.text


def _request_counts(text: str, service: str) -> dict[tuple[str, str, str], float]:
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "litcomp_http_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("service") == service:
                key = (sample.labels["method"], sample.labels["route"], sample.labels["status"])
                counts[key] = sample.value
    return counts


class TestMetrics:
    async def test_requests_are_counted_by_route_template(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        ids = [uuid.uuid4() for _ in range(3)]
        for thing_id in ids:
            assert (await client.get(f"/things/{thing_id}")).status_code == 200
        await client.post("/things", json={"name": "x", "count": 1})

        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "litcomp_http_requests_total" in response.text
        assert 'route="/things/{thing_id}"' in response.text
        for thing_id in ids:
            assert str(thing_id) not in response.text

        counts = _request_counts(response.text, service)
        assert counts[("GET", "/things/{thing_id}", "200")] == 3
        assert counts[("POST", "/things", "201")] == 1

    async def test_prefixed_routes_are_counted_by_their_full_template(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        assert (await client.get("/shelves/7/books/42")).status_code == 200
        counts = _request_counts((await client.get("/metrics")).text, service)
        assert counts[("GET", "/shelves/{shelf_id}/books/{book_id}", "200")] == 1

    async def test_error_statuses_are_counted(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        await client.get("/errors/conflict")
        await client.get("/errors/db-down")
        await client.get("/things/not-a-uuid")
        counts = _request_counts((await client.get("/metrics")).text, service)
        assert counts[("GET", "/errors/conflict", "409")] == 1
        assert counts[("GET", "/errors/db-down", "503")] == 1
        assert counts[("GET", "/things/{thing_id}", "404")] == 1

    async def test_unknown_paths_share_one_label(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        for n in range(3):
            await client.get(f"/scanner/probe-{n}")
        text = (await client.get("/metrics")).text
        assert "probe-" not in text
        counts = _request_counts(text, service)
        assert counts[("GET", "unmatched", "404")] == 3


class TestAuthentication:
    def token(
        self, key: SigningKey, *, role: str = "user", ttl: timedelta = timedelta(hours=1)
    ) -> tuple[str, uuid.UUID]:
        user_id = uuid.uuid4()
        token, _ = key.issue(user_id=user_id, role=role, issuer=ISSUER, ttl=ttl)
        return token, user_id

    async def test_missing_token_is_401(self, client: httpx.AsyncClient) -> None:
        assert_error(await client.get("/me"), 401, "unauthorized")

    async def test_valid_token_names_the_principal(
        self, client: httpx.AsyncClient, key: SigningKey
    ) -> None:
        token, user_id = self.token(key, role="admin")
        response = await client.get("/me", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json() == {"user_id": str(user_id), "role": "admin"}

    async def test_invalid_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/me", headers={"authorization": "Bearer not.a.token"})
        assert_error(response, 401, "unauthorized")

    async def test_expired_token_is_401_token_expired(
        self, client: httpx.AsyncClient, key: SigningKey
    ) -> None:
        token, _ = self.token(key, ttl=timedelta(seconds=-60))
        response = await client.get("/me", headers={"authorization": f"Bearer {token}"})
        assert_error(response, 401, "token_expired")

    async def test_token_from_another_issuer_is_401(
        self, client: httpx.AsyncClient, key: SigningKey
    ) -> None:
        token, _ = key.issue(
            user_id=uuid.uuid4(), role="user", issuer="elsewhere", ttl=timedelta(hours=1)
        )
        response = await client.get("/me", headers={"authorization": f"Bearer {token}"})
        assert_error(response, 401, "unauthorized")

    async def test_other_schemes_are_not_a_token(
        self, client: httpx.AsyncClient, key: SigningKey
    ) -> None:
        token, _ = self.token(key)
        response = await client.get("/me", headers={"authorization": f"Basic {token}"})
        assert_error(response, 401, "unauthorized")

    async def test_optional_principal_without_token_is_anonymous(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/maybe-me")
        assert response.status_code == 200
        assert response.json() == {"user_id": None}

    async def test_optional_principal_with_valid_token(
        self, client: httpx.AsyncClient, key: SigningKey
    ) -> None:
        token, user_id = self.token(key)
        response = await client.get("/maybe-me", headers={"authorization": f"Bearer {token}"})
        assert response.json() == {"user_id": str(user_id)}

    async def test_optional_principal_still_refuses_a_bad_token(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/maybe-me", headers={"authorization": "Bearer garbage"})
        assert_error(response, 401, "unauthorized")


class TestOpenAPI:
    """The document completes FastAPI's with what the edge gives (see kit.openapi)."""

    @pytest.fixture
    def document(self, app: FastAPI) -> dict[str, Any]:
        return app.openapi()

    @staticmethod
    def statuses(document: dict[str, Any], path: str, method: str = "get") -> set[str]:
        return set(document["paths"][path][method]["responses"])

    def test_a_body_may_be_malformed_too_large_or_invalid(self, document: dict[str, Any]) -> None:
        assert self.statuses(document, "/things", "post") == {"201", "400", "413", "422"}

    def test_a_path_id_may_name_nothing_and_is_never_a_422(self, document: dict[str, Any]) -> None:
        assert self.statuses(document, "/things/{thing_id}") == {"200", "404"}
        assert self.statuses(document, "/things/{thing_id}/search") == {"200", "404", "422"}

    def test_declared_errors_stay_beside_the_derived_ones(self, document: dict[str, Any]) -> None:
        statuses = self.statuses(document, "/things/{thing_id}", "put")
        assert statuses == {"200", "400", "404", "409", "413", "422"}

    def test_a_database_session_may_be_unavailable(self, document: dict[str, Any]) -> None:
        assert self.statuses(document, "/stored/{thing_id}") == {"200", "404", "503"}
        unavailable = document["paths"]["/stored/{thing_id}"]["get"]["responses"]["503"]
        assert unavailable["headers"]["Retry-After"]["required"] is True

    def test_tokens_required_or_optional(self, document: dict[str, Any]) -> None:
        me, maybe = document["paths"]["/me"]["get"], document["paths"]["/maybe-me"]["get"]
        assert me["security"] == [{"bearerAuth": []}]
        assert maybe["security"] == [{"bearerAuth": []}, {}]
        assert {"401", "503"} <= set(me["responses"]) & set(maybe["responses"])
        assert "security" not in document["paths"]["/things"]["post"]
        scheme = document["components"]["securitySchemes"]["bearerAuth"]
        assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == (
            "http",
            "bearer",
            "JWT",
        )

    def test_errors_have_the_platforms_bodies(self, document: dict[str, Any]) -> None:
        responses = document["paths"]["/things"]["post"]["responses"]
        body = responses["400"]["content"]["application/json"]["schema"]
        invalid = responses["422"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorBody"}
        assert invalid == {"$ref": "#/components/schemas/ValidationErrorBody"}
        schemas = document["components"]["schemas"]
        assert "HTTPValidationError" not in schemas  # FastAPI's, never answered
        assert "ValidationError" not in schemas
        assert {"ErrorBody", "ErrorDetail", "ValidationErrorBody", "ValidationIssue"} <= set(
            schemas
        )

    def test_an_optional_parameter_is_absent_never_null(self, document: dict[str, Any]) -> None:
        (name,) = document["paths"]["/find"]["get"]["parameters"]
        assert name["required"] is False
        assert name["schema"]["type"] == "string"
        assert "anyOf" not in name["schema"]

    async def test_every_documented_error_is_what_the_app_answers(
        self, client: httpx.AsyncClient, document: dict[str, Any]
    ) -> None:
        # One request per derived status, checked against the schema it is documented with.
        answers = {
            "400": await client.post(
                "/things", content=b"{", headers={"content-type": "application/json"}
            ),
            "404": await client.get("/things/nope"),
            "413": await client.post(
                "/things", content=b"x", headers={"content-length": str(MAX_BODY_BYTES + 1)}
            ),
            "422": await client.post("/things", json={"name": ""}),
        }
        for documented, response in answers.items():
            assert str(response.status_code) == documented
            body = response.json()
            assert set(body["error"]) == {"code", "message", "details"}
        assert isinstance(answers["422"].json()["error"]["details"], list)


class TestDocs:
    async def test_the_docs_page_loads_swagger_ui_from_the_instance(
        self, client: httpx.AsyncClient
    ) -> None:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "'/openapi.json'" in page.text
        # Only the instance's own files (FastAPI's default page loads them from a CDN).
        assert set(re.findall(r"https?://[^'\"\s]+", page.text)) == set()
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
            assert f"/docs/{name}" in page.text
            assert (await client.get(f"/docs/{name}")).status_code == 200

    async def test_no_other_file_is_served(self, client: httpx.AsyncClient) -> None:
        assert_error(await client.get("/docs/..%2F__init__.py"), 404, "not_found")
        assert_error(await client.get("/docs/LICENSE"), 404, "not_found")
        assert_error(await client.get("/redoc"), 404, "not_found")


class TestQueryModel:
    """A query validated as one model answers as the same parameters declared do."""

    QUERIES = (
        "",
        "?shelf=old&limit=5&offset=10&label=blue",
        "?limit=0",
        "?limit=&offset=-1&shelf=middle",
        "?limit=1001&label=",
        "?label=" + "\u00e9\u0301" * 5,  # ten code points, over the eight allowed
        "?label=%F0%9F%93%9A",
        "?limit=3&limit=4",  # the last counts
        "?unknown=1&LIMIT=0",  # names are exact; unknown ones are ignored
        "?limit=1e3",
        "?label=" + "x" * 10_000,
    )

    @pytest.mark.parametrize("query", QUERIES)
    async def test_answers_as_declared_parameters_do(
        self, client: httpx.AsyncClient, query: str
    ) -> None:
        modelled = await client.get(f"/browse{query}")
        declared = await client.get(f"/browse-declared{query}")
        assert (modelled.status_code, modelled.json()) == (declared.status_code, declared.json())
        assert modelled.status_code in (200, 422)

    async def test_locates_each_error_in_the_query(self, client: httpx.AsyncClient) -> None:
        error = assert_error(await client.get("/browse?limit=0&shelf=x"), 422, "validation_failed")
        assert [(d["location"], d["type"]) for d in error["details"]] == [
            ("query.shelf", "literal_error"),
            ("query.limit", "greater_than_equal"),
        ]

    def test_is_documented_as_declared_parameters_are(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        modelled, declared = paths["/browse"]["get"], paths["/browse-declared"]["get"]
        assert modelled["parameters"] == declared["parameters"]
        assert set(modelled["responses"]) == set(declared["responses"]) == {"200", "422"}

    def test_refuses_a_model_whose_fields_need_definitions(self) -> None:
        class Inner(BaseModel):
            x: int

        class Nested(BaseModel):
            inner: Inner | None = None

        with pytest.raises(TypeError, match="plain values"):
            QueryModel(Nested)
