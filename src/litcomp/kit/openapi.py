"""The OpenAPI document every service publishes: FastAPI's, completed from the routes.

FastAPI documents what a route declares. The statuses the shared edge (``kit.http``)
gives are derived here from each route's shape, so that no route has to list them and
none can forget one:

- a JSON body: 400 (not JSON), 413 (over the body limit), 422 (invalid);
- query or header parameters: 422; path parameters: 404 (a malformed id names
  nothing, the same answer as an unknown one);
- a bearer token, required or optional: 401, and 403 (code ``suspended``: the token
  of a suspended user); a token or a database session: 503 with
  ``Retry-After`` (the database, or the keys that verify tokens, cannot be reached).

What only the route knows (403, a 404 for a resource it looks up, 409, a 503 from a
peer service) it declares itself with ``error_responses``. Every error has the body
``{"error": {"code", "message", "details"}}``; a 422's ``details`` lists the invalid
fields (the platform replaces FastAPI's own validation answer, so its schema does too).

Parameters (query, header) that may be left out are documented as absent, not as
FastAPI's ``null``, which no query string or header can carry.

Security: a route that needs a token gets ``[{"bearerAuth": []}]``; one where a token
is optional (it changes the answer, not whether there is one) also lists ``{}``.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

SCHEME = "bearerAuth"
REF_PREFIX = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Auth = Literal["required", "optional"] | None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. `not_found`")
    message: str = Field(description="For people")
    details: Any = Field(default=None, description="More about the error, or null")


class ErrorBody(BaseModel):
    """Every error the platform answers with."""

    error: ErrorDetail


class ValidationIssue(BaseModel):
    location: str = Field(description="Where, e.g. `body.title` or `query.limit`")
    message: str
    type: str = Field(description="The kind of problem, e.g. `string_too_long`")
    count: int | None = Field(
        None, description="With a word limit (`too_few_words`, `too_many_words`): the words sent"
    )
    limit: int | None = Field(None, description="With a word limit: the limit")


class ValidationDetail(BaseModel):
    code: str = Field(description="`validation_failed`, or a more precise code")
    message: str
    details: list[ValidationIssue] | None = Field(
        default=None, description="One entry per invalid input; null for a rule between fields"
    )


class ValidationErrorBody(BaseModel):
    """A 422: the request is well formed but its values are not acceptable."""

    error: ValidationDetail


DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "Missing, invalid or expired token",
    403: "Not allowed for this user (code suspended: the user is suspended)",
    404: "Not found",
    409: "Conflicts with the current state or breaks a rule",
    413: "The body is over 1 MiB",
    415: "The body's Content-Type is not one this route takes",
    422: "Invalid input",
    429: "Too many requests from this address; retry after Retry-After seconds",
    502: "The service dropped the request",
    503: "A dependency is unavailable, or the instance too busy; retry after Retry-After seconds",
    504: "The service did not answer in time",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_response(status: int) -> dict[str, Any]:
    """The OpenAPI response object of an error status."""
    body = ValidationErrorBody if status == 422 else ErrorBody
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": REF_PREFIX + body.__name__}}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def error_schemas() -> dict[str, Any]:
    """The component schemas the error responses refer to."""
    _, schemas = models_json_schema(
        [(ErrorBody, "serialization"), (ValidationErrorBody, "serialization")],
        ref_template=REF_PREFIX + "{model}",
    )
    defs: dict[str, Any] = schemas["$defs"]
    return defs


@dataclass(frozen=True)
class RouteFacts:
    """What a route's dependencies say about the errors it can give."""

    auth: Auth = None
    database: bool = False


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def complete(
    document: dict[str, Any], facts: Mapping[tuple[str, str], RouteFacts]
) -> dict[str, Any]:
    """Add the edge's error responses and the security of each operation (in place).

    ``facts`` is keyed by (path, lower-case method); an operation it does not name is
    taken to need no token and no database.
    """
    for path, method, operation in operations(document):
        fact = facts.get((path, method), RouteFacts())
        statuses = _edge_statuses(operation, fact)
        responses = operation.setdefault("responses", {})
        responses.pop("422", None)  # FastAPI's own; the platform answers 422 its way
        for parameter in operation.get("parameters", []):
            if "schema" in parameter:
                parameter["schema"] = _absent_not_null(parameter["schema"])

        for status in sorted(statuses | {int(s) for s in responses if _is_error(s)}):
            responses[str(status)] = error_response(status)
        if fact.auth is None:
            operation.pop("security", None)
        else:
            operation["security"] = [{SCHEME: []}] + ([{}] if fact.auth == "optional" else [])
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(error_schemas())
    if any(fact.auth for fact in facts.values()):
        components.setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from POST /users/login, sent as `Authorization: Bearer "
            "<token>`; it lasts an hour",
        }
    prune(document)
    return document


def _absent_not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without FastAPI's ``null`` for ``X | None``: a query
    parameter or header that is not given is absent; it cannot be null."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return schema
    rest = [option for option in options if option != {"type": "null"}]
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(rest) == 1:
        return {**rest[0], **outer}
    return {**outer, "anyOf": rest}


def methods_at(document: Mapping[str, Any], path: str) -> list[str]:
    """The methods, upper case, the document lists for ``path``. As in OpenAPI's own
    matching, a concrete path wins over templates (``/users/login`` is not a
    ``/users/{user_id}``), and fewer parameters over more."""
    matching = [
        (template.count("{"), item)
        for template, item in document.get("paths", {}).items()
        if _template(template).fullmatch(path)
    ]
    fewest = min((count for count, _ in matching), default=0)
    return sorted(
        {
            method.upper()
            for count, item in matching
            if count == fewest
            for method in METHODS
            if method in item
        }
    )


@lru_cache(maxsize=256)
def _template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


def _edge_statuses(operation: Mapping[str, Any], fact: RouteFacts) -> set[int]:
    statuses: set[int] = set()
    where = {parameter.get("in") for parameter in operation.get("parameters", [])}
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if where & {"query", "header", "cookie"}:
        statuses.add(422)
    if "path" in where:
        statuses.add(404)
    if fact.auth is not None:
        statuses |= {401, 403}
    if fact.auth is not None or fact.database:
        statuses.add(503)
    return statuses


def _is_error(status: str) -> bool:
    return status.isdigit() and int(status) >= 400 and int(status) in DESCRIPTIONS


def prune(document: dict[str, Any]) -> None:
    """Drop component schemas nothing refers to (FastAPI's own validation error
    schemas, once the platform's replace them)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    outside = {key: value for key, value in document.items() if key != "components"}
    outside["components"] = {
        key: value for key, value in document.get("components", {}).items() if key != "schemas"
    }
    reached: set[str] = set()
    pending = list(_refs(outside))
    while pending:
        name = pending.pop()
        if name in reached or name not in schemas:
            continue
        reached.add(name)
        pending.extend(_refs(schemas[name]))
    for name in set(schemas) - reached:
        del schemas[name]


def _refs(node: Any) -> Iterator[str]:
    """The names of the component schemas ``node`` refers to, at any depth."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def swagger_ui_folder() -> Path:
    """Where the installed ``fastapi-offline`` keeps Swagger UI's files (``/docs``
    pages use them: no CDN). Found without importing the package."""
    spec = find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed; it ships Swagger UI's files")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
