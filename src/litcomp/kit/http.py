"""The HTTP edge every service shares: app factory, middleware, errors, health, auth.

Service code raises ``kit.errors`` exceptions; this module alone turns them, and
everything else that can go wrong, into ``{"error": {"code", "message", "details"}}``
with the right status. Nothing a client sends can produce a stack trace.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette import types as asgi
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from litcomp.kit import db, metrics, openapi, redis
from litcomp.kit.auth import Principal, TokenVerifier
from litcomp.kit.errors import (
    AppError,
    BadRequest,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    error_body,
    max_body_bytes,
)
from litcomp.kit.idempotency import HEADER as IDEMPOTENCY_HEADER
from litcomp.kit.idempotency import MAX_KEY_LENGTH
from litcomp.kit.logging import REQUEST_ID_HEADER, accept_request_id, request_id_var
from litcomp.kit.schemas import Text

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[None]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _error(exc: AppError) -> JSONResponse:
    retry = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers=retry)


class Message(BaseModel):
    """The answer of an action that creates nothing a client needs to refer to."""

    message: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting errors only this route gives (403, 409, a 404
    for what it looks up, a 503 from a peer service); ``kit.openapi`` adds those that
    every route of its shape can give."""
    return {
        status: {"description": openapi.DESCRIPTIONS[status], "model": openapi.ErrorBody}
        for status in statuses
    }


# Paging of the lists the brief defines as bare arrays: they stay arrays, take
# ``limit``/``offset`` and tell how many there are in all in this header. (Lists made
# since answer ``{items, total, limit, offset}``.)
TOTAL_COUNT = "X-Total-Count"
ArrayLimit = Annotated[int, Query(ge=1, le=1000, description="at most this many (1-1000)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="after skipping this many")]


Q = TypeVar("Q", bound=BaseModel)


class QueryModel(Generic[Q]):
    """A route's query parameters as one pydantic model, validated in one call.

    FastAPI resolves declared query parameters one at a time, ~7 us each a request
    beyond pydantic's validation (a cached list's four were a quarter of its hit). A
    route that takes ``Request`` and calls ``parse`` gets the same values and the same
    422 (each error located at ``query.<name>``); ``openapi`` goes in its
    ``openapi_extra`` to document them as declared ones are. Unknown names are ignored,
    and of a repeated name the last counts, as FastAPI does."""

    def __init__(self, model: type[Q]) -> None:
        self.model = model
        self.openapi = {"parameters": _query_parameters(model)}

    def parse(self, request: Request) -> Q:
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as error:
            located = [{**each, "loc": ("query", *each["loc"])} for each in error.errors()]
            raise RequestValidationError(located) from None


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    if "$defs" in schema:  # a field's schema would refer to what the document lacks
        raise TypeError(f"{model.__name__}: a query's fields must be plain values")
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required}
        parameter["schema"] = field
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return parameters


def total_count(response: Response, total: int) -> None:
    """Tell a bare array's total in ``X-Total-Count``."""
    response.headers[TOTAL_COUNT] = str(total)


def counted(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a bare array paged by ``limit``/``offset``: its 200
    has ``X-Total-Count``; plus ``error_responses(*statuses)``."""
    header = {"description": "how many there are in all", "schema": {"type": "integer"}}
    return {200: {"headers": {TOTAL_COUNT: header}}, **error_responses(*statuses)}


def create_app(
    *, service: str, title: str, lifespan: Lifespan, routers: Sequence[APIRouter]
) -> FastAPI:
    # /docs is ours (_operations_router): FastAPI's loads Swagger UI from a CDN.
    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.health_checks = {}
    for router in routers:
        app.include_router(router)
    app.include_router(_operations_router())
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.state.in_flight = InFlight()
    app.add_middleware(RequestContext, service=service, in_flight=app.state.in_flight)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, completed by ``kit.openapi`` from what each route depends on."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        app.openapi_schema = openapi.complete(document, _route_facts(app))
    return app.openapi_schema


def _route_facts(app: FastAPI) -> dict[tuple[str, str], openapi.RouteFacts]:
    facts = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = set(_calls(route.dependant))
        auth: openapi.Auth = (
            "required"
            if current_principal in calls
            else "optional"
            if optional_principal in calls
            else None
        )
        fact = openapi.RouteFacts(auth=auth, database=db_session in calls)
        for method in route.methods or ():
            facts[(context.path_format or route.path_format, method.lower())] = fact
    return facts


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _install_error_handlers(app: FastAPI) -> None:
    async def app_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return _error(exc)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if any(error["type"] == "json_invalid" for error in errors):
            return _error(BadRequest("the request body is not valid JSON"))
        if all(error["loc"][0] == "path" for error in errors):
            # A malformed id names nothing that exists: the same answer as an unknown one.
            return error_response(404, "not_found", "no such resource")
        details = [
            {
                "location": ".".join(str(part) for part in error["loc"]),
                "message": error["msg"],
                "type": error["type"],
            }
            for error in errors
        ]
        return error_response(422, "validation_failed", "the request is not valid", details)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        allowed = openapi.methods_at(request.app.openapi(), request.url.path)
        if exc.status_code == 405 and allowed:
            # Starlette names only the methods of the first route whose path matched,
            # and FastAPI makes a route per method: the document knows them all.
            headers["Allow"] = ", ".join(allowed)
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    async def outage(_: Request, exc: Exception) -> Response:
        if db.is_outage(exc) or redis.is_outage(exc):
            log.warning("dependency unavailable: %s", type(exc).__name__, exc_info=exc)
            return error_response(
                503,
                "unavailable",
                "a dependency is unavailable; try again shortly",
                headers={"Retry-After": "1"},
            )
        if isinstance(exc, sa.exc.DataError):
            return error_response(422, "validation_failed", "a value cannot be stored")
        log.error("database error", exc_info=exc)
        return error_response(500, "internal", "something went wrong on our side")

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    for error_type in (*db.OUTAGE_ERRORS, *redis.OUTAGE_ERRORS):
        app.add_exception_handler(error_type, outage)


def _operations_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health")
    async def ready(request: Request) -> Response:
        checks: dict[str, HealthCheck] = request.app.state.health_checks
        outcomes = await asyncio.gather(*(_run(check) for check in checks.values()))
        results = dict(zip(checks, outcomes, strict=True))
        healthy = all(result == "ok" for result in results.values())
        body = {"status": "ok" if healthy else "unavailable", "checks": results}
        return JSONResponse(body, status_code=200 if healthy else 503)

    @router.get("/docs")
    async def docs(request: Request) -> Response:
        """Swagger UI over this instance's document, from installed files (no CDN)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{request.app.title} API",
            swagger_js_url="/docs/swagger-ui-bundle.js",
            swagger_css_url="/docs/swagger-ui.css",
            swagger_favicon_url="/docs/favicon.png",
        )

    @router.get("/docs/{name}")
    async def docs_file(name: str) -> Response:
        if name not in openapi.SWAGGER_UI_FILES:
            raise HTTPException(404, "Not Found")
        return FileResponse(openapi.swagger_ui_folder() / name)

    @router.get("/metrics")
    async def prometheus() -> Response:
        content, media_type = metrics.exposition()
        return Response(content, media_type=media_type)

    return router


async def _run(check: HealthCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=2)
    except Exception:
        return "unavailable"
    return "ok"


class InFlight:
    """How many HTTP requests this instance is serving right now (its load)."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


class RequestContext:
    """Gives each request an id (kept from ``X-Request-ID`` when sane), echoes it
    back, counts it in flight, logs one line per request and records its metrics."""

    def __init__(self, app: ASGIApp, service: str, in_flight: InFlight) -> None:
        self.app = app
        self.service = service
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        started_response = False

        async def send_with_id(message: asgi.Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        self.in_flight.value += 1
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost error middleware so
            # that the 500, like every answer, carries the request id and is counted.
            log.exception("unhandled error")
            if started_response:
                raise
            response = error_response(500, "internal", "something went wrong on our side")
            await response(scope, receive, send_with_id)
        finally:
            self.in_flight.value -= 1
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = metrics.method_label(scope["method"])
            metrics.HTTP.observe(self.service, method, route, status, elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodySizeLimit:
    """Refuses bodies over ``max_bytes(method, path)`` with 413 before the app reads them.

    A declared Content-Length is checked up front; a chunked body is read here,
    up to the limit, and handed on only if it fits.
    """

    def __init__(self, app: ASGIApp, max_bytes: Callable[[str, str], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            # No body at all (RFC 9112, 6.3): most GETs. Nothing to count or replay.
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes(scope["method"], scope["path"])
        if declared is not None:
            if not declared.isdigit():
                await _error(BadRequest("invalid Content-Length"))(scope, receive, send)
                return
            if int(declared) > limit:
                await _refuse(limit, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _refuse(limit, scope, receive, send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = _error(PayloadTooLarge(f"the request body is over {limit} bytes"))
    await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> asgi.Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


_bearer = HTTPBearer(
    auto_error=False, scheme_name=openapi.SCHEME, description="A token from POST /users/login"
)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def optional_principal(request: Request, credentials: Credentials) -> Principal | None:
    """Who is asking, if the request carries a token; a bad token is still refused."""
    if credentials is None:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    principal = await optional_principal(request, credentials)
    if principal is None:
        raise Unauthorized("this endpoint needs a bearer token (Authorization: Bearer ...)")
    return principal


IdempotencyHeader = Annotated[
    Text | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Repeat the request with the same key to get the first answer again, "
        "creating nothing new (safe to retry)",
    ),
]
CurrentUser = Annotated[Principal, Depends(current_principal)]
MaybeUser = Annotated[Principal | None, Depends(optional_principal)]


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for this request; a read-only one for GET, HEAD and OPTIONS."""
    state = request.app.state
    read_only = request.method in READ_ONLY_METHODS
    async with (state.read_sessionmaker if read_only else state.sessionmaker)() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(db_session)]


def from_state(name: str) -> Callable[[HTTPConnection], Awaitable[Any]]:
    """A dependency handing out ``app.state.<name>``, set up by the service's lifespan.

    Async, so FastAPI calls it inline rather than in a worker thread; typed on
    HTTPConnection, so WebSocket routes can use it too.
    """

    async def dependency(connection: HTTPConnection) -> Any:
        return getattr(connection.app.state, name)

    return dependency
