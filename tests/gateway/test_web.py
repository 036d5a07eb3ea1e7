"""The browser app as the gateway serves it, on the wire."""

import time
from collections.abc import Iterator
from xml.etree import ElementTree

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


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    "path",
    ["/", "/competitions", "/competitions/abc", "/competitions/abc/entries/def", "/writers/abc"],
)
def test_a_browser_opening_a_page_gets_the_app(client: httpx.Client, path: str):
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert '<script type="module" src="/app/app.js">' in response.text


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "text/html, application/json", "text/*;q=0.5, */*"]
)
def test_any_other_request_to_an_api_path_is_forwarded(client: httpx.Client, accept: str | None):
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("accept", None)
    response = client.get("/competitions/abc", headers=headers)
    assert response.json()["path"] == "/competitions/abc"  # the echo upstream


def test_a_browser_opening_an_api_path_that_is_no_page_gets_the_json(client: httpx.Client):
    response = client.get("/competitions/abc/submissions", headers={"Accept": BROWSER})
    assert response.json()["path"] == "/competitions/abc/submissions"


def test_a_browser_opening_an_unknown_address_gets_the_app_saying_not_found(client: httpx.Client):
    response = client.get("/no/such/page", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert '<script type="module" src="/app/app.js">' in response.text
    expect_error(client.get("/no/such/page"), 404)  # JSON for anyone else
    assert client.get("/app/app.js", headers={"Accept": BROWSER}).status_code == 200


def test_a_slow_service_gives_the_plain_head_at_once(client: httpx.Client):
    # The echo upstream answers /competitions/slow after a second.
    started = time.monotonic()
    response = client.get("/competitions/slow", headers={"Accept": BROWSER})
    assert time.monotonic() - started < 0.9
    assert response.status_code == 200
    assert "<title>litcomp</title>" in response.text
    assert '<meta property="og:site_name" content="litcomp">' in response.text


def test_the_head_names_what_the_service_answered(client: httpx.Client, edge: Edge):
    # The echo upstream's answer has no title: the page is named for the site.
    response = client.get("/writers/abc", headers={"Accept": BROWSER, "Host": "litcomp.test"})
    # LITCOMP_PUBLIC_URL (the launcher sets it to the gateway's address) names the site.
    assert f'<link rel="canonical" href="{edge.url}/writers/abc">' in response.text
    assert '<meta property="og:type" content="profile">' in response.text


def test_robots_and_sitemap(client: httpx.Client, edge: Edge):
    robots = client.get("/robots.txt")
    assert robots.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Disallow: /profile" in robots.text
    assert "Disallow: /search" in robots.text
    assert f"Sitemap: {edge.url}/sitemap.xml" in robots.text
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"] == "application/xml; charset=utf-8"
    urls = ElementTree.fromstring(sitemap.content)
    assert urls.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"


def test_an_odd_host_never_reaches_the_page(client: httpx.Client):
    response = client.get(
        "/writers/abc", headers={"Accept": BROWSER, "Host": 'evil.example"><script>x</script>'}
    )
    assert "<script>x" not in response.text
    assert "evil" not in response.text
