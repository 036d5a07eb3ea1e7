"""litcomp.gateway.web: the browser app's files, with caching and security headers.

Most tests use a small app made in a temporary folder; the last ones check the app
this package ships (every file it refers to is there, and it keeps its own rules).
"""

import re
from importlib.resources import files
from pathlib import Path

import pytest

from litcomp.gateway import web
from litcomp.gateway.messages import Request, Response

SHIPPED = Path(str(files("litcomp.gateway") / "web"))
# How a string becomes markup (or code) in a page; the app uses none of them but one.
MARKUP_SINKS = (
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "parseFromString",
    "createContextualFragment",
    "setHTML",
    "srcdoc",
)
# The one way HTML enters the page: dom.js's `rendered`, for the API's content_html
# (Markdown the server rendered and sanitized), parsed inert and rebuilt by allow-list.
SERVER_HTML = ("dom.js", "parseFromString")


def request(path: str, method: str = "GET", **headers: str) -> Request:
    return Request(
        method=method,
        target=path,
        path=path,
        headers=[(name.replace("_", "-"), value) for name, value in headers.items()],
        body=b"",
        client_ip="127.0.0.1",
        keep_alive=True,
    )


def header(response: Response, name: str) -> str | None:
    return next((value for key, value in response.headers if key == name), None)


@pytest.fixture
def app(tmp_path: Path) -> web.WebApp:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "app.js").write_text("export const x = 1;\n")
    (tmp_path / "style.css").write_text("body { margin: 0 }\n")
    (tmp_path / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "notes.txt").write_text("not part of the app")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.js").write_text("export {};\n")
    return web.WebApp.load(tmp_path)


class TestWhatIsServed:
    def test_the_root_is_the_index_page(self, app: web.WebApp) -> None:
        root, index = app.answer(request("/")), app.answer(request("/app/index.html"))
        assert root is not None and index is not None
        assert root.status == 200
        assert root.body == index.body == b"<!doctype html><title>t</title>"

    @pytest.mark.parametrize(
        ("path", "content_type"),
        [
            ("/", "text/html; charset=utf-8"),
            ("/app/app.js", "text/javascript; charset=utf-8"),
            ("/app/style.css", "text/css; charset=utf-8"),
            ("/app/icon.svg", "image/svg+xml"),
        ],
    )
    def test_each_file_has_its_content_type(
        self, app: web.WebApp, path: str, content_type: str
    ) -> None:
        response = app.answer(request(path))
        assert response is not None
        assert header(response, "content-type") == content_type

    @pytest.mark.parametrize(
        "path",
        [
            "/app/notes.txt",  # not a kind of file the app serves
            "/app/sub/deep.js",  # only the folder's own files
            "/app/missing.js",
            "/app/../web.py",
            "/app/",
            "/app",
            "/index.html",
            "/anything",
        ],
    )
    def test_anything_else_is_not_ours(self, app: web.WebApp, path: str) -> None:
        assert app.answer(request(path)) is None

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    def test_only_get_and_head_are_answered(self, app: web.WebApp, method: str) -> None:
        assert app.answer(request("/", method)) is None

    def test_head_has_the_headers_and_no_body(self, app: web.WebApp) -> None:
        get, head = app.answer(request("/app/app.js")), app.answer(request("/app/app.js", "HEAD"))
        assert get is not None and head is not None
        assert head.status == 200
        assert head.headers == get.headers
        sent = head.encode(keep_alive=True, head=True)
        assert sent.endswith(b"\r\n\r\n")  # no body on the wire
        assert f"content-length: {len(get.body)}".encode() in sent  # the GET's length


class TestCaching:
    def test_every_answer_is_revalidated_by_etag(self, app: web.WebApp) -> None:
        response = app.answer(request("/app/app.js"))
        assert response is not None
        assert header(response, "cache-control") == "no-cache"
        assert re.fullmatch(r'"[0-9a-f]{32}"', header(response, "etag") or "")

    def test_the_etag_changes_with_the_content(self, tmp_path: Path) -> None:
        (tmp_path / "app.js").write_text("one")
        before = web.WebApp.load(tmp_path).answer(request("/app/app.js"))
        (tmp_path / "app.js").write_text("two")
        after = web.WebApp.load(tmp_path).answer(request("/app/app.js"))
        assert before is not None and after is not None
        assert header(before, "etag") != header(after, "etag")

    @pytest.mark.parametrize(
        "if_none_match",
        ["{etag}", "W/{etag}", '"other", {etag}', "*"],
    )
    def test_an_unchanged_file_is_304_without_a_body(
        self, app: web.WebApp, if_none_match: str
    ) -> None:
        etag = header(app.answer(request("/app/style.css")) or Response(500), "etag") or ""
        response = app.answer(
            request("/app/style.css", if_none_match=if_none_match.format(etag=etag))
        )
        assert response is not None
        assert response.status == 304
        assert response.body == b""
        assert header(response, "etag") == etag
        assert header(response, "cache-control") == "no-cache"

    @pytest.mark.parametrize("if_none_match", ['"stale"', "", 'W/"stale", "older"'])
    def test_a_changed_file_is_sent_again(self, app: web.WebApp, if_none_match: str) -> None:
        response = app.answer(request("/app/style.css", if_none_match=if_none_match))
        assert response is not None
        assert response.status == 200
        assert response.body == b"body { margin: 0 }\n"


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/", "/app/app.js", "/app/style.css"])
    def test_every_answer_carries_them(self, app: web.WebApp, path: str) -> None:
        response = app.answer(request(path))
        assert response is not None
        assert header(response, "x-content-type-options") == "nosniff"
        assert header(response, "referrer-policy") == "no-referrer"
        assert header(response, "content-security-policy") == web.CONTENT_SECURITY_POLICY

    def test_the_policy_refuses_inline_and_foreign_scripts(self) -> None:
        directives = {
            name: value
            for name, _, value in (
                part.partition(" ") for part in web.CONTENT_SECURITY_POLICY.split("; ")
            )
        }
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in web.CONTENT_SECURITY_POLICY


class TestTheShippedApp:
    def test_the_gateway_answers_with_it(self) -> None:
        response = web.answer(request("/"))
        assert response is not None
        assert b'<script type="module" src="/app/app.js">' in response.body

    def test_every_file_the_page_names_is_served(self) -> None:
        index = (SHIPPED / "index.html").read_text()
        named = set(re.findall(r'(?:src|href)="(/app/[^"]+)"', index))
        assert named >= {"/app/app.js", "/app/style.css"}
        assert named <= web.default().paths

    def test_every_module_imported_is_served(self) -> None:
        for module in SHIPPED.glob("*.js"):
            for imported in re.findall(r'from "\./([\w.-]+)"', module.read_text()):
                assert f"/app/{imported}" in web.default().paths, (module.name, imported)

    def test_the_page_has_no_inline_script(self) -> None:
        index = (SHIPPED / "index.html").read_text()
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", index, re.S)
        assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
        assert not re.search(r"\son\w+=", index)  # no inline event handlers either

    def test_no_module_writes_markup_from_strings(self) -> None:
        # User text must go in as text; these are the ways it could go in as markup.
        for module in SHIPPED.glob("*.js"):
            source = module.read_text()
            for risky in MARKUP_SINKS:
                allowed = 1 if (module.name, risky) == SERVER_HTML else 0
                assert source.count(risky) == allowed, f"{module.name} uses {risky}"
