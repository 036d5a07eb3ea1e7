"""The browser app, served by the gateway itself: ``/`` and the files under ``/app/``.

The app is plain ES modules and CSS in ``gateway/web/`` (no build step), read once
and kept in memory: it is small, and the gateway then answers it without touching
the disk. Every file is revalidated on each use (``Cache-Control: no-cache`` with an
ETag, 304 when unchanged), so a new release is picked up at once and an unchanged
file costs a few hundred bytes. The Content-Security-Policy allows scripts and
styles only from this origin: no inline script can run, so user text that slipped
into the page as markup still could not execute.

Only exact, known paths are answered (a dict lookup), so no request can name a file
outside the app. ``answer`` returns None for anything else, and the caller says 404.
``page`` is the index page for one of the app's addresses (pages.py), with the head
made for that address in place of the index's ``<title>``.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from litcomp.gateway.messages import Request, Response
from litcomp.kit.etags import matches

PREFIX = "/app/"
INDEX = "index.html"
TITLE = b"<title>litcomp</title>"  # in index.html: where a page's own head goes

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# Everything only from here, images too: profile pictures are uploaded and served by
# the platform (GET /users/{id}/picture/...), so no viewer's address reaches another
# host. connect-src 'self' covers the same-origin WebSocket (CSP Level 3).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, name: str, body: bytes) -> "Asset":
        suffix = name[name.rfind(".") :]
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(body, CONTENT_TYPES[suffix], f'"{digest}"')


class WebApp:
    """The app's files by URL path, answered with caching and security headers."""

    def __init__(
        self,
        assets: Mapping[str, Asset],
        headers: Sequence[tuple[str, str]] = SECURITY_HEADERS,
    ) -> None:
        self._assets = dict(assets)
        self._headers = tuple(headers)

    @classmethod
    def load(cls, root: Traversable) -> "WebApp":
        """Every servable file directly in ``root``; ``index.html`` is also ``/``."""
        assets = {
            PREFIX + entry.name: Asset.of(entry.name, entry.read_bytes())
            for entry in root.iterdir()
            if entry.is_file() and _suffix(entry.name) in CONTENT_TYPES
        }
        if PREFIX + INDEX in assets:
            assets["/"] = assets[PREFIX + INDEX]
        return cls(assets)

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(self._assets)

    def answer(self, request: Request) -> Response | None:
        """The file at ``request.path``, or None when the app has no such path."""
        if request.method not in ("GET", "HEAD"):
            return None
        asset = self._assets.get(request.path)
        if asset is None:
            return None
        headers = [
            ("etag", asset.etag),
            ("cache-control", "no-cache"),
            *self._headers,
        ]
        if matches(request.header("if-none-match"), asset.etag):
            return Response(304, headers)
        headers.insert(0, ("content-type", asset.content_type))
        return Response(200, headers, asset.body)  # for HEAD, the server sends no body

    def page(self, head: str, status: int = 200) -> Response:
        """The index page with ``head`` (escaped markup: title, meta, links) for its
        ``<title>``. Made per address, so no ETag; ``Vary: Accept``, as the same
        address answers JSON to an API request."""
        body = self._assets[PREFIX + INDEX].body.replace(TITLE, head.encode(), 1)
        headers = [
            ("content-type", CONTENT_TYPES[".html"]),
            ("cache-control", "no-cache"),
            ("vary", "Accept"),
            *self._headers,
        ]
        return Response(status, headers, body)


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


@cache
def default() -> WebApp:
    """The app shipped in this package, read on first use."""
    return WebApp.load(files("litcomp.gateway") / "web")


def answer(request: Request) -> Response | None:
    return default().answer(request)
