"""litcomp.gateway.openapi.merge: the platform's document from the services'.

(Fetching from live instances, caching and a service gone are in tests/e2e.)
"""

from typing import Any

import pytest

from litcomp.gateway.openapi import GATEWAY_PATHS, merge
from litcomp.kit import openapi


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answering(name: str) -> dict[str, Any]:
    return {
        "get": {
            "tags": ["t"],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": ref(name)}}}
            },
        }
    }


def part(paths: dict[str, Any], schemas: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}, **extra}


MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}}


@pytest.fixture
def parts() -> dict[str, dict[str, Any]]:
    return {
        "users": part(
            {"/users/profile": answering("Profile"), "/users/login": answering("Message")},
            {"Profile": {"type": "object", "title": "Profile"}, "Message": MESSAGE},
        ),
        "competitions": part(
            {"/competitions": answering("Summary"), "/notifications": answering("Message")},
            {
                "Summary": {"type": "object", "properties": {"who": ref("Profile")}},
                "Profile": {"type": "string", "title": "Profile"},
                "Message": MESSAGE,
            },
        ),
    }


def test_every_service_path_is_there_with_the_gateways_own(
    parts: dict[str, dict[str, Any]],
) -> None:
    document = merge(parts)
    assert set(document["paths"]) == {
        "/users/profile", "/users/login", "/competitions", "/notifications", *GATEWAY_PATHS,
    }  # fmt: skip
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/", "description": "this gateway"}]


def test_a_schema_defined_alike_is_shared(parts: dict[str, dict[str, Any]]) -> None:
    document = merge(parts)
    schemas = document["components"]["schemas"]
    assert schemas["Message"] == MESSAGE
    login = document["paths"]["/users/login"]["get"]["responses"]["200"]
    assert login["content"]["application/json"]["schema"] == ref("Message")


def test_a_name_defined_differently_gets_its_services_name(
    parts: dict[str, dict[str, Any]],
) -> None:
    document = merge(parts)
    schemas = document["components"]["schemas"]
    assert "Profile" not in schemas
    assert schemas["UsersProfile"] == {"type": "object", "title": "UsersProfile"}
    assert schemas["CompetitionsProfile"] == {"type": "string", "title": "CompetitionsProfile"}
    # Every reference follows its own service's definition.
    assert schemas["Summary"]["properties"]["who"] == ref("CompetitionsProfile")
    profile = document["paths"]["/users/profile"]["get"]["responses"]["200"]
    assert profile["content"]["application/json"]["schema"] == ref("UsersProfile")


def test_proxied_operations_document_the_gateways_answers(
    parts: dict[str, dict[str, Any]],
) -> None:
    document = merge(parts)
    responses = document["paths"]["/competitions"]["get"]["responses"]
    assert {"200", "429", "502", "503", "504"} <= set(responses)
    assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert responses["503"]["headers"]["Retry-After"]["required"] is True
    assert {"ErrorBody", "ErrorDetail"} <= set(document["components"]["schemas"])
    # The gateway answers its own paths itself: no rate limit, no upstream.
    assert set(document["paths"]["/health"]["get"]["responses"]) == {"200"}


def test_a_path_the_gateway_would_send_elsewhere_is_left_out() -> None:
    document = merge({"users": part({"/competitions": answering("X")}, {"X": {}})})
    assert "/competitions" not in document["paths"]
    assert "X" not in document["components"]["schemas"]


def test_a_missing_service_is_named_in_the_description(
    parts: dict[str, dict[str, Any]],
) -> None:
    complete = merge(parts)
    assert "Incomplete" not in complete["info"]["description"]
    document = merge({"users": parts["users"]}, missing=["competitions"])
    assert "/competitions" not in document["paths"]
    assert "/users/profile" in document["paths"]
    assert "no instance of competitions answered" in document["info"]["description"]


def test_nothing_at_all_is_still_a_document() -> None:
    document = merge({}, missing=["competitions", "users"])
    assert set(document["paths"]) == set(GATEWAY_PATHS)
    assert "competitions, users" in document["info"]["description"]


def test_security_schemes_and_tags_are_kept(parts: dict[str, dict[str, Any]]) -> None:
    scheme = {"type": "http", "scheme": "bearer"}
    parts["users"]["components"]["securitySchemes"] = {openapi.SCHEME: scheme}
    parts["users"]["tags"] = [{"name": "users", "description": "People"}]
    document = merge(parts)
    assert document["components"]["securitySchemes"] == {openapi.SCHEME: scheme}
    assert {"name": "users", "description": "People"} in document["tags"]


def test_the_services_documents_are_left_as_they_were(
    parts: dict[str, dict[str, Any]],
) -> None:
    before = repr(parts)
    merge(parts)
    assert repr(parts) == before


def test_the_websocket_is_described_not_an_operation(parts: dict[str, dict[str, Any]]) -> None:
    document = merge(parts)
    assert "/ws" not in document["paths"]
    description = document["info"]["description"]
    for fact in ("`/ws`", "?token=", "?after=", "/asyncapi.json"):
        assert fact in description


def test_the_gateways_own_answers_are_documented() -> None:
    """Its pages are rate limited but /health; the operator ones refuse strangers."""
    document = merge({}, missing=["competitions", "users"])
    responses = {path: set(item["get"]["responses"]) for path, item in document["paths"].items()}
    assert responses["/health"] == {"200"}
    assert responses["/openapi.json"] == {"200", "429"}
    for path in ("/gateway/status", "/metrics"):
        assert responses[path] == {"200", "401", "403", "429", "503"}
    assert {"ErrorBody"} <= set(document["components"]["schemas"])
