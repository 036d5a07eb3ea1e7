"""litcomp.kit.openapi: a service's document, completed from its routes' shape.

(The completion applied to a real app is in test_http.py; these are its pure parts.)
"""

from typing import Any

from litcomp.kit import openapi
from litcomp.kit.openapi import RouteFacts


def operation(**extra: Any) -> dict[str, Any]:
    return {"responses": {"200": {"description": "OK"}}, **extra}


def test_concrete_paths_win_over_templates_for_allow() -> None:
    document = {
        "paths": {
            "/users/login": {"post": operation()},
            "/users/{user_id}": {"get": operation()},
            "/users/{user_id}/x/{y}": {"get": operation(), "delete": operation()},
        }
    }
    assert openapi.methods_at(document, "/users/login") == ["POST"]
    assert openapi.methods_at(document, "/users/42") == ["GET"]
    assert openapi.methods_at(document, "/users/42/x/7") == ["DELETE", "GET"]
    assert openapi.methods_at(document, "/users") == []
    assert openapi.methods_at(document, "/users/42/") == []  # a template is one segment


def test_completion_derives_errors_from_the_operation() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/things/{id}": {
                "patch": operation(
                    parameters=[{"name": "id", "in": "path", "required": True}],
                    requestBody={"content": {}},
                ),
                "get": operation(parameters=[{"name": "id", "in": "path", "required": True}]),
            },
            "/things": {
                "get": operation(parameters=[{"name": "q", "in": "query", "required": False}])
            },
        }
    }
    facts = {("/things/{id}", "patch"): RouteFacts(auth="required", database=True)}
    openapi.complete(document, facts)
    paths = document["paths"]
    assert set(paths["/things/{id}"]["patch"]["responses"]) == {
        "200", "400", "401", "403", "404", "413", "422", "503",
    }  # fmt: skip
    assert set(paths["/things/{id}"]["get"]["responses"]) == {"200", "404"}
    assert set(paths["/things"]["get"]["responses"]) == {"200", "422"}
    assert paths["/things/{id}"]["patch"]["security"] == [{"bearerAuth": []}]


def test_fastapis_own_422_is_replaced_and_its_schemas_dropped() -> None:
    fastapi_422 = {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
    document: dict[str, Any] = {
        "paths": {
            "/things/{id}": {
                "get": operation(
                    parameters=[{"name": "id", "in": "path", "required": True}],
                    responses={"200": {"description": "OK"}, "422": fastapi_422},
                )
            }
        },
        "components": {
            "schemas": {
                "HTTPValidationError": {
                    "properties": {"detail": {"$ref": "#/components/schemas/ValidationError"}}
                },
                "ValidationError": {"type": "object"},
            }
        },
    }
    openapi.complete(document, {})
    assert set(document["paths"]["/things/{id}"]["get"]["responses"]) == {"200", "404"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


def test_prune_keeps_what_is_reached_through_other_schemas() -> None:
    document: dict[str, Any] = {
        "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/schemas/A"}}}}},
        "components": {
            "schemas": {
                "A": {"items": {"$ref": "#/components/schemas/B"}},
                "B": {"properties": {"again": {"$ref": "#/components/schemas/A"}}},
                "Unused": {"$ref": "#/components/schemas/B"},
            }
        },
    }
    openapi.prune(document)
    assert set(document["components"]["schemas"]) == {"A", "B"}


def test_an_optional_parameter_loses_fastapis_null() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/x": {
                "get": operation(
                    parameters=[
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {
                                "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
                                "title": "After",
                            },
                        },
                        {
                            "name": "either",
                            "in": "query",
                            "schema": {
                                "anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]
                            },
                        },
                    ]
                )
            }
        }
    }
    openapi.complete(document, {})
    after, either = document["paths"]["/x"]["get"]["parameters"]
    assert after["schema"] == {"type": "integer", "minimum": 0, "title": "After"}
    assert either["schema"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
