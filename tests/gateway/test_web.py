"""The browser app as the gateway serves it, on the wire."""

from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import Edge
from tests.support import expect_error


@pytest.fixture
def client(edge: Edge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        yield client


def test_the_root_is_the_app(client: httpx.Client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]  # answered by the gateway like any request
    assert '<script type="module" src="/app/app.js">' in response.text


def test_assets_revalidate_with_304(client: httpx.Client):
    first = client.get("/app/app.js")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    again = client.get("/app/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_head_then_get_on_one_connection(client: httpx.Client):
    head = client.head("/app/style.css")
    assert head.status_code == 200
    assert head.headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/app/style.css").status_code == 200  # the stream is still in step


def test_unknown_files_and_other_methods_are_404(client: httpx.Client):
    expect_error(client.get("/app/missing.js"), 404)
    expect_error(client.post("/", content=b"{}"), 404)
    expect_error(client.get("/app/../pyproject.toml"), 404)


def test_the_services_keep_their_paths(client: httpx.Client):
    assert client.get("/competitions").json()["path"] == "/competitions"  # the echo upstream
    assert client.get("/status").headers["content-type"] == "text/html; charset=utf-8"
