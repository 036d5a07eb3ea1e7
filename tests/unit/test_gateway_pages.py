"""pages.py (which requests are a browser opening an app page) and heads.py (what a
link preview reads), without a network."""

import re
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import pytest

from litcomp.gateway import heads, pages, sitemap

WEB = Path(str(files("litcomp.gateway") / "web"))

CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept", [CHROME, FIREFOX, "text/html", "text/html, application/json;q=0.5"]
)
def test_a_browser_navigation_prefers_html(accept: str) -> None:
    assert pages.prefers_html(accept)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",  # fetch, curl, Postman, httpx
        "application/json",
        "application/json, text/plain, */*",
        "text/html, application/json",  # no preference: the API, as before
        "text/html;q=0, */*",
        "text/html;q=0.5, application/json",
        "text/html;q=nonsense",
        "application/*, text/html;q=0.9",
        "text/*, application/json;q=0.5",  # a navigation names text/html
    ],
)
def test_anything_else_keeps_the_api(accept: str | None) -> None:
    assert not pages.prefers_html(accept)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/competitions",
        "/competitions/1f0e",
        "/competitions/1f0e/entries/9a",
        "/competitions/1f0e/results",
        "/competitions/1f0e/ballot",
        "/writers/1f0e",
        "/search",
        "/login",
        "/notifications",
    ],
)
def test_the_app_pages(path: str) -> None:
    assert pages.is_page(path)


@pytest.mark.parametrize(
    "path",
    [
        "/competitions/1f0e/submissions",
        "/competitions/1f0e/entries",
        "/users/1f0e",
        "/users/profile",
        "/writers",
        "/writers/a/b",
        "/competitionsX",
        "/app/app.js",
    ],
)
def test_not_app_pages(path: str) -> None:
    assert not pages.is_page(path)


def test_every_text_in_the_head_is_escaped() -> None:
    head = heads.Head('<script>"x" & y</script>', "a \"quoted\" <b>bio</b> & 'more'")
    rendered = head.render('https://litcomp.example/writers/"a"')
    assert "<script>" not in rendered and "<b>" not in rendered
    assert "<title>&lt;script&gt;&quot;x&quot; &amp; y&lt;/script&gt; · litcomp</title>" in rendered
    assert (
        'content="a &quot;quoted&quot; &lt;b&gt;bio&lt;/b&gt; &amp; &#x27;more&#x27;"' in rendered
    )
    assert '<link rel="canonical" href="https://litcomp.example/writers/&quot;a&quot;">' in rendered


def test_an_entry_names_its_writer_only_when_the_api_does() -> None:
    entry = {"title": "Tide", "author": None, "content_html": "<p>One <em>two</em></p><p>three</p>"}
    assert heads.entry_head(entry) == heads.Head("Tide", "One two three", kind="article")
    named = {**entry, "author": {"user_id": "u", "username": "marta"}}
    assert heads.entry_head(named).title == "Tide, by marta"
    assert not heads.entry_head(False).found


def test_descriptions_are_cut_at_a_word() -> None:
    text = "word " * 100
    cut = heads.first_words(text)
    assert len(cut) <= heads.DESCRIPTION_CHARS
    assert cut.endswith("word…")
    assert heads.first_words("  short\n\n text ") == "short text"


def test_sitemap_addresses_are_xml_escaped() -> None:
    document = sitemap.urlset("https://x.example", ["/a?b=1&c=<2>"]).decode()
    assert "<loc>https://x.example/a?b=1&amp;c=&lt;2&gt;</loc>" in document


@pytest.mark.parametrize(
    ("public_url", "host", "base"),
    [
        ("https://litcomp.example/", "other.example", "https://litcomp.example"),
        ("", "litcomp.test:8000", "http://litcomp.test:8000"),
        ("", "[::1]:8000", "http://[::1]:8000"),
        ("", 'evil.example"><script>', "http://localhost"),
        ("", None, "http://localhost"),
    ],
)
def test_the_site_address(public_url: str, host: str | None, base: str) -> None:
    site = heads.Heads(cast(Any, None), {}, public_url=public_url)
    assert site.base_url("http", host) == base


def test_every_route_of_the_app_is_a_page_the_gateway_answers() -> None:
    """pages.PAGES is kept in step with app.js's route table."""
    routes = re.findall(r'^route\("([^"]+)"', (WEB / "app.js").read_text(), re.M)
    assert len(routes) > 10
    for pattern in routes:
        assert pages.is_page(re.sub(r":\w+", "some-id", pattern)), pattern
