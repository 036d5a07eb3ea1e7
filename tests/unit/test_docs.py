"""litcomp.gateway.docs: Swagger UI at /docs, served from installed files (no CDN)."""

import re

import pytest

from litcomp.gateway import docs
from litcomp.gateway.messages import Response
from tests.unit.test_web import header, request


def answer(path: str, method: str = "GET", **headers: str) -> Response:
    response = docs.answer(request(path, method, **headers))
    assert response is not None, path
    return response


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/docs", "text/html; charset=utf-8"),
        ("/docs/init.js", "text/javascript; charset=utf-8"),
        ("/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("/docs/swagger-ui.css", "text/css; charset=utf-8"),
        ("/docs/favicon.png", "image/png"),
        ("/asyncapi.json", "application/json"),
    ],
)
def test_every_file_is_served_with_its_type(path: str, content_type: str) -> None:
    response = answer(path)
    assert response.status == 200
    assert header(response, "content-type") == content_type
    assert response.body
    assert path in docs.PATHS


def test_swagger_ui_is_the_installed_bundle() -> None:
    bundle = answer("/docs/swagger-ui-bundle.js").body
    assert b"SwaggerUIBundle" in bundle
    # Swagger UI 5 reads OpenAPI 3.1, the version FastAPI writes.
    version = re.search(rb'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version is not None and int(version.group(1)) >= 5


def test_the_page_loads_nothing_from_elsewhere() -> None:
    page = answer("/docs").body.decode()
    assert "<script>" not in page  # no inline script: the policy would refuse it
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        if url != "/openapi.json":
            assert url in docs.PATHS, url
    init = answer("/docs/init.js").body.decode()
    assert 'url: "/openapi.json"' in init
    assert "validatorUrl: null" in init
    assert "http" not in page.replace('href="/openapi.json"', "") + init
    assert 'href="/asyncapi.json"' in page


def test_the_policy_allows_only_this_origin_for_scripts_and_calls() -> None:
    policy = header(answer("/docs"), "content-security-policy")
    assert policy is not None
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert header(answer("/docs"), "x-content-type-options") == "nosniff"


def test_head_and_revalidation() -> None:
    first = answer("/docs/swagger-ui.css")
    etag = header(first, "etag")
    assert etag is not None
    head = answer("/docs/swagger-ui.css", "HEAD").encode(keep_alive=True, head=True)
    assert head.endswith(b"\r\n\r\n")  # the server sends no body for HEAD
    assert f"content-length: {len(first.body)}".encode() in head
    assert answer("/docs/swagger-ui.css", if_none_match=etag).status == 304


@pytest.mark.parametrize(
    ("path", "method"),
    [("/docs/", "GET"), ("/docs/index.html", "GET"), ("/docs/../web/app.js", "GET"),
     ("/docs", "POST")],
)  # fmt: skip
def test_anything_else_is_not_the_docs(path: str, method: str) -> None:
    assert docs.answer(request(path, method)) is None
