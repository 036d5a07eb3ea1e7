"""The platform's one OpenAPI document, which the gateway serves at ``/openapi.json``.

Each service publishes its own document at ``/openapi.json`` (FastAPI's, completed by
``kit.openapi``). ``merge`` (pure) makes the platform's from them, as a client of the
gateway sees it:

- every path a service documents that the gateway routes to that service;
- component schemas: one copy of a name the services define alike (the kit's error
  bodies), the service's name in front of a name they define differently;
- the answers the gateway itself gives on any proxied route: 429 (rate limited),
  502 and 504 (the instance dropped the request, or was too slow), 503 (no instance);
- the gateway's own endpoints, the server, and a description that covers what OpenAPI
  cannot: errors, limits, idempotency, and the notification WebSocket ``/ws``.

``Documents`` does the I/O: it asks a live instance of each service for its document,
merges, and keeps the result for ``ttl`` seconds. A service with no instance that
answers is served from the last document it gave; one never seen is left out, with a
note in the description, and the result is kept only briefly, so that it comes back
as soon as the service does. Nothing here ever makes the gateway answer 500.
"""

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litcomp.gateway.docs import ASYNCAPI
from litcomp.gateway.messages import Request, Response
from litcomp.gateway.pool import ConnectionPool, fetch_json
from litcomp.gateway.routes import match
from litcomp.kit import openapi
from litcomp.kit.instance_table import InstanceTable

log = logging.getLogger(__name__)

PATH = "/openapi.json"
GATEWAY_ERRORS = (429, 502, 503, 504)
SCHEMA_REF = openapi.REF_PREFIX

DESCRIPTION = """\
litcomp runs literary competitions: admins open them, writers enter stories, readers
like and comment, and places are given when a competition ends. Everything goes
through this gateway.

**Authentication.** `POST /users/login` gives a token; send it as
`Authorization: Bearer <token>`. A token lasts an hour; the `refresh_token` that comes
with it gets a new one (`POST /users/token/refresh`, which gives a new refresh token too:
each works once) until `POST /users/logout`. An admin is made with `litcomp create-admin`
and gets the admin role in tokens issued after that.

**Errors.** Every error is JSON: `{"error": {"code", "message", "details"}}`, with a
stable `code`. A 422 lists each invalid field in `details` (`location`, `message`,
`type`). A malformed id in a path is a 404, like an unknown one. Bodies over 1 MiB: 413 (a
profile picture's, over 2 MiB).

**Limits.** Requests are limited per client address (logins, registrations and password
resets more tightly), the gateway's own pages and WebSocket upgrades too (not `/health`): 429 with
`Retry-After`. A request target that cannot be normalised (a path above the root, a
malformed or control-character escape, another host): 400. With no instance of a
service able to answer: 503 with `Retry-After`; an instance that breaks the connection
or takes longer than the gateway's deadline: 502 or 504. `/gateway/status` and
`/metrics` answer operators only (the operator networks, or an admin's token).
Before any route, each connection is held to HTTP limits: a target over 8 KiB is 414,
a header section over 32 KiB or 100 fields 431, headers not in within 10 s (or a body
10 s without a byte) 408, too many open connections (in all, or from one address)
503; each closes the connection.

**The web app at the same addresses.** A GET or HEAD whose `Accept` ranks `text/html`
above `application/json` (a browser opening a page) to one of the web app's addresses
(`/competitions/{id}`, `/competitions/{id}/entries/{sid}`, `/writers/{id}`, ...) is
answered with the app's HTML page, its title and link-preview tags filled in. Any other
request, `Accept: */*` and `application/json` included, gets the API's JSON.

**Idempotency.** Register, creating a competition, submit and comment take an
`Idempotency-Key` header: a repeat gets the first answer again and creates nothing; the
same key with another request is 422 `idempotency_key_reused`. The gateway retries such
a POST on another instance when one fails; a key sent anywhere else changes nothing.

**Notifications over WebSocket: `GET /ws`** (not an OpenAPI operation). Open a
WebSocket to `/ws` on this gateway (it tunnels the socket to a competitions instance)
with `Authorization: Bearer <token>` or, from a browser, `?token=<token>`; `?after=<id>`
resumes after the last notice id you saw. Its messages, each notice type's fields and
its close codes are described by the AsyncAPI 3.0 document
[`/asyncapi.json`](/asyncapi.json). The same notices are listed by `GET /notifications`."""

_HEALTH = {
    "type": "object",
    "properties": {"status": {"type": "string", "const": "ok"}},
    "required": ["status"],
}
_INSTANCE = {
    "type": "object",
    "properties": {
        "instance_id": {"type": "string"},
        "address": {"type": "string"},
        "version": {"type": "string"},
        "restarts": {"type": "integer"},
        "breaker": {"type": "string", "enum": ["closed", "open", "half_open"]},
        "consecutive_failures": {"type": "integer"},
        "cooldown_seconds": {"type": "number"},
        "in_flight": {"type": "integer"},
        "reported_load": {"type": "integer"},
        "requests": {"type": "integer"},
        "failures": {"type": "integer"},
        "last_error": {"type": "string"},
    },
    "required": ["instance_id", "address", "breaker", "in_flight", "requests", "failures"],
}
_STATUS = {
    "type": "object",
    "properties": {
        "balancer": {"type": "string", "enum": ["round_robin", "least_load"]},
        "services": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": _INSTANCE},
        },
    },
    "required": ["balancer", "services"],
}


def _own(
    summary: str,
    description: str,
    media_type: str,
    schema: dict[str, Any],
    errors: tuple[int, ...] = (429,),
) -> Any:
    """One of the gateway's own GET endpoints; ``errors``: the error statuses it gives
    (every one but /health is rate limited)."""
    return {
        "get": {
            "tags": ["gateway"],
            "summary": summary,
            "description": description,
            "operationId": "gateway_" + summary.lower().replace(" ", "_"),
            "responses": {
                "200": {"description": "OK", "content": {media_type: {"schema": schema}}},
                **{str(status): openapi.error_response(status) for status in errors},
            },
        }
    }


# Operators: clients in LITCOMP_GATEWAY_OPERATOR_NETS, or an admin's token (503 while the
# keys to check it cannot be fetched). Not a security requirement: from an operator
# network no token is needed.
_OPERATOR_ERRORS = (401, 403, 429, 503)
_FOR_OPERATORS = (
    " For operators: clients in the operator networks (loopback by default), or a request"
    " with an admin's bearer token."
)


GATEWAY_PATHS: dict[str, Any] = {
    "/health": _own(
        "Gateway health",
        "The gateway is up (it does not ask the services). Never rate limited.",
        "application/json",
        _HEALTH,
        errors=(),
    ),
    "/gateway/status": _own(
        "Gateway status",
        "Every instance the gateway routes to, its circuit breaker and its load." + _FOR_OPERATORS,
        "application/json",
        _STATUS,
        errors=_OPERATOR_ERRORS,
    ),
    "/metrics": _own(
        "Gateway metrics",
        "The gateway's Prometheus metrics (text exposition format)." + _FOR_OPERATORS,
        "text/plain",
        {"type": "string"},
        errors=_OPERATOR_ERRORS,
    ),
    PATH: _own(
        "OpenAPI document",
        "This document. Interactive documentation is at `/docs`.",
        "application/json",
        {"type": "object"},
    ),
    "/sitemap.xml": _own(
        "Sitemap",
        "The web app's public pages (sitemaps.org 0.9): competitions, the entries whose"
        " writer is shown, their writers. Remade at most every 10 minutes.",
        "application/xml",
        {"type": "string"},
    ),
    "/robots.txt": _own(
        "Robots",
        "What crawlers may read (not the pages that are one person's own) and where the"
        " sitemap is.",
        "text/plain",
        {"type": "string"},
    ),
    ASYNCAPI: _own(
        "AsyncAPI document",
        "The notification WebSocket `/ws` as an AsyncAPI 3.0 document.",
        "application/json",
        {"type": "object"},
    ),
}


def merge(
    parts: Mapping[str, Mapping[str, Any]],
    *,
    missing: Sequence[str] = (),
    title: str = "litcomp",
    api_version: str = "",
) -> dict[str, Any]:
    """The platform's document from the services' (by service name), as served through
    the gateway. ``missing`` names services whose part could not be had."""
    copies = {name: copy.deepcopy(dict(part)) for name, part in sorted(parts.items())}
    renames = _renames(copies)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    security: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for service, original in copies.items():
        part = _renamed(original, renames.get(service, {}))
        for path, item in part.get("paths", {}).items():
            route = match(path)
            if route is None or route.service != service or route.websocket:
                continue  # the gateway would not send a request for it to this service
            paths[path] = _with_gateway_errors(item)
        components = part.get("components", {})
        schemas.update(components.get("schemas", {}))
        security.update(components.get("securitySchemes", {}))
        for tag in part.get("tags", []):
            tags.setdefault(tag["name"], tag)
    paths.update(copy.deepcopy(GATEWAY_PATHS))
    if any(_answers(item, 429) for item in paths.values()):
        schemas.update(openapi.error_schemas())
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": api_version or _package_version(),
            "description": DESCRIPTION + _missing_note(missing),
        },
        "servers": [{"url": "/", "description": "this gateway"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    if security:
        document["components"]["securitySchemes"] = security
    if tags:
        document["tags"] = list(tags.values())
    openapi.prune(document)
    return document


def _package_version() -> str:
    try:
        return version("litcomp")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _renames(parts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """For each service, its schema names that another service defines differently,
    and what they become (``Message`` -> ``UsersMessage``)."""
    seen: dict[str, list[tuple[str, Any]]] = {}
    for service, part in parts.items():
        for name, schema in part.get("components", {}).get("schemas", {}).items():
            seen.setdefault(name, []).append((service, schema))
    renames: dict[str, dict[str, str]] = {}
    for name, definitions in seen.items():
        if len({json.dumps(schema, sort_keys=True) for _, schema in definitions}) > 1:
            for service, _ in definitions:
                renames.setdefault(service, {})[name] = service.capitalize() + name
    return renames


def _renamed(part: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    if not renames:
        return part
    schemas = part.get("components", {}).get("schemas", {})
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    refs = {SCHEMA_REF + old: SCHEMA_REF + new for old, new in renames.items()}
    return _rewrite_refs(part, refs)  # type: ignore[no-any-return]


def _rewrite_refs(node: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: refs.get(value, value)
            if key == "$ref" and isinstance(value, str)
            else _rewrite_refs(value, refs)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(value, refs) for value in node]
    return node


def _with_gateway_errors(item: dict[str, Any]) -> dict[str, Any]:
    for method in openapi.METHODS:
        if method in item:
            responses = item[method].setdefault("responses", {})
            for status in GATEWAY_ERRORS:
                responses[str(status)] = openapi.error_response(status)
    return item


def _answers(item: Mapping[str, Any], status: int) -> bool:
    return any(
        str(status) in item[method].get("responses", {})
        for method in openapi.METHODS
        if method in item
    )


def _missing_note(missing: Sequence[str]) -> str:
    if not missing:
        return ""
    names = ", ".join(sorted(missing))
    return (
        f"\n\n**Incomplete:** no instance of {names} answered when this document was "
        "made, so its paths are missing. Reload shortly."
    )


class Documents:
    """The merged document, fetched from live instances and kept for ``ttl`` seconds."""

    def __init__(
        self,
        pool: ConnectionPool,
        instances: Mapping[str, InstanceTable],
        *,
        ttl: float = 30.0,
        retry_incomplete: float = 2.0,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._instances = instances
        self._ttl = ttl
        self._retry_incomplete = retry_incomplete
        self._timeout = timeout
        self._clock = clock
        self._parts: dict[str, dict[str, Any]] = {}  # the last document each service gave
        self._body = b""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def body(self) -> bytes:
        """The merged document as JSON; one refresh at a time however many ask."""
        if self._clock() < self._expires:
            return self._body
        async with self._lock:
            if self._clock() >= self._expires:
                await self._refresh()
        return self._body

    async def answer(self, _: Request) -> Response:
        body = await self.body()
        headers = [("content-type", "application/json"), ("cache-control", "no-cache")]
        return Response(200, headers, body)  # for HEAD, the server sends no body

    async def _refresh(self) -> None:
        services = sorted(self._instances)
        fetched = await asyncio.gather(
            *(
                fetch_json(self._pool, self._instances[service], PATH, within=self._timeout)
                for service in services
            ),
            return_exceptions=True,
        )
        for service, part in zip(services, fetched, strict=True):
            if isinstance(part, dict):
                self._parts[service] = part
            elif isinstance(part, BaseException):
                log.error("fetching an OpenAPI document failed", exc_info=part)
        missing = [service for service in services if service not in self._parts]
        try:
            document = merge(self._parts, missing=missing)
        except Exception:
            # A document this code cannot merge must not take the endpoint down: serve
            # what was served before, and say what went wrong in the log.
            log.exception("cannot merge the services' OpenAPI documents")
            missing = services
            document = merge({}, missing=missing)
        self._body = json.dumps(document, separators=(",", ":")).encode()
        self._expires = self._clock() + (self._retry_incomplete if missing else self._ttl)
