"""The API's description through the gateway: /openapi.json, /asyncapi.json, /docs, and
the answers schemathesis (tests/fuzz) found differing from it, one regression test each."""

import uuid

import httpx

from litcomp.competitions.notifications import asyncapi
from tests.support import Account, Platform, create_competition, expect_error


def test_the_gateway_serves_the_platforms_document(platform: Platform):
    response = httpx.get(f"{platform.url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    paths = document["paths"]
    # Both services' paths, and the gateway's own.
    assert {"/users/register", "/users/login", "/users/profile", "/users/{user_id}"} <= set(paths)
    assert {"/competitions", "/competitions/{competition_id}/submit", "/notifications"} <= set(
        paths
    )
    assert {"/health", "/gateway/status", "/metrics", "/openapi.json", "/asyncapi.json"} <= set(
        paths
    )
    assert document["servers"] == [{"url": "/", "description": "this gateway"}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    submit = paths["/competitions/{competition_id}/submit"]["post"]
    assert submit["security"] == [{"bearerAuth": []}]
    assert {"201", "400", "401", "404", "409", "413", "422", "429", "503"} <= set(
        submit["responses"]
    )
    assert "/ws" in document["info"]["description"]
    # Served from the gateway's cache the second time: the same document.
    assert httpx.get(f"{platform.url}/openapi.json", timeout=10).content == response.content


def test_the_docs_page_works_offline(platform: Platform):
    page = httpx.get(f"{platform.url}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"):
        assert asset in page.text
        assert httpx.get(f"{platform.url}{asset}", timeout=10).status_code == 200


def test_the_gateway_serves_the_websockets_asyncapi_document(platform: Platform):
    response = httpx.get(f"{platform.url}/asyncapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == asyncapi.render()  # the document the models make
    assert response.json()["channels"]["notifications"]["address"] == "/ws"
    again = httpx.get(
        f"{platform.url}/asyncapi.json", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert 'href="/asyncapi.json"' in httpx.get(f"{platform.url}/docs", timeout=10).text


def test_allow_names_every_method_of_a_path(competitions: httpx.Client, admin: Account):
    competition = create_competition(competitions, admin)
    refused = competitions.request("OPTIONS", f"/competitions/{competition}")
    expect_error(refused, 405)
    assert refused.headers["Allow"] == "GET, PATCH"  # was "GET": the first route's only
    entry = f"/competitions/{competition}/like/{uuid.uuid4()}"
    assert competitions.request("OPTIONS", entry).headers["Allow"] == "DELETE, POST"


def test_a_get_of_a_post_only_path_is_405_not_a_missing_user(users: httpx.Client):
    # GET /users/login used to reach GET /users/{user_id} and answer 404.
    for path in ("/users/login", "/users/register"):
        refused = users.get(path)
        assert expect_error(refused, 405)["code"] == "method_not_allowed"
        assert refused.headers["Allow"] == "POST"
    expect_error(users.get("/users/not-a-user-id"), 404)


def test_the_gateways_own_paths_refuse_other_methods_with_405(platform: Platform):
    for path in ("/health", "/openapi.json", "/docs"):
        refused = httpx.post(f"{platform.url}{path}", timeout=10)
        assert expect_error(refused, 405)["code"] == "method_not_allowed"
        assert refused.headers["Allow"] == "GET, HEAD"


def test_a_reply_to_no_such_comment_lists_the_field_like_every_422(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    competition = create_competition(competitions, admin)
    entry = competitions.post(
        f"/competitions/{competition}/submit",
        json={"title": "Threads", "content": "A story."},
        headers=writer.auth,
    )
    url = f"/competitions/{competition}/comment/{entry.json()['submission_id']}"
    stray = competitions.post(
        url, json={"content": "To whom?", "parent_id": str(uuid.uuid4())}, headers=reader.auth
    )
    error = expect_error(stray, 422)
    assert error["code"] == "validation_failed"
    # Was {"field": "parent_id"}, which the documented 422 body does not allow.
    assert error["details"] == [
        {
            "location": "body.parent_id",
            "message": "parent_id does not name a comment on this submission",
            "type": "not_found",
        }
    ]


def test_a_body_that_is_not_utf8_is_400_bad_request(users: httpx.Client):
    refused = users.post(
        "/users/login", content=b"\x80abc", headers={"Content-Type": "application/json"}
    )
    assert expect_error(refused, 400)["code"] == "bad_request"  # was "http_error"


def test_entries_are_described_with_their_markdown_html_and_word_count(platform: Platform):
    schemas = httpx.get(f"{platform.url}/openapi.json", timeout=10).json()["components"]["schemas"]
    for schema, fields in {
        "SubmissionSummary": {"word_count"},
        "SubmissionDetails": {"content", "content_html", "word_count"},
        "CommentThread": {"content", "content_html"},
        "UserSubmission": {"content", "word_count"},
    }.items():
        assert fields <= set(schemas[schema]["required"]), schema
        for field in fields:
            assert schemas[schema]["properties"][field]["description"], (schema, field)
        if "word_count" in fields:
            assert schemas[schema]["properties"]["word_count"]["type"] == "integer"
    assert "Markdown" in schemas["SubmissionCreate"]["properties"]["content"]["description"]
    assert "Markdown" in schemas["CommentCreate"]["properties"]["content"]["description"]


def test_the_competitions_list_documents_its_query_as_parameters(platform: Platform):
    """Its query is validated as one model (kit.http.QueryModel), documented by hand."""
    document = httpx.get(f"{platform.url}/openapi.json", timeout=10).json()
    listing = document["paths"]["/competitions"]["get"]
    parameters = {parameter["name"]: parameter for parameter in listing["parameters"]}
    assert set(parameters) == {"status", "limit", "offset", "tag"}
    assert all(p["in"] == "query" and p["required"] is False for p in parameters.values())
    status = parameters["status"]["schema"]
    assert status["enum"] == ["active", "open", "upcoming", "voting", "finished", "all"]
    assert status["default"] == "active"
    limit = parameters["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 1000, 100)
    assert parameters["tag"]["schema"]["type"] == "string"  # absent or a tag, never null
    assert {"200", "422", "429", "503"} <= set(listing["responses"])
