"""Interactive API documentation at ``/docs``: Swagger UI over ``/openapi.json``, and
the notification WebSocket's AsyncAPI document at ``/asyncapi.json``.

The AsyncAPI document is a file in ``gateway/docs/``, made from the notification models
by ``make asyncapi`` (litcomp.competitions.notifications.asyncapi: the gateway imports
no service, so it ships the document rather than making it).

It works without the internet. Swagger UI's files come from the ``fastapi-offline``
package (a pinned dependency that ships them), read from where it is installed
without importing it (that would import FastAPI into the gateway); the page and the
script that starts Swagger UI are ours, in ``gateway/docs/``. Everything is answered
like the web app's files (``web.WebApp``: ETag, ``no-cache``), under a
Content-Security-Policy of its own: Swagger UI draws its icons from ``data:`` URLs and
sets inline styles, which the web app's policy refuses; scripts still come only from
this origin, and the page talks only to it ("Try it out" calls this gateway).
"""

from functools import cache
from importlib.resources import files

from litcomp.gateway.messages import Request, Response
from litcomp.gateway.web import Asset, WebApp
from litcomp.kit.openapi import SWAGGER_UI_FILES, swagger_ui_folder

PAGE = "/docs"
PREFIX = "/docs/"
ASYNCAPI = "/asyncapi.json"
OUR_FILES = ("init.js",)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
PATHS = frozenset({PAGE, ASYNCAPI, *(PREFIX + name for name in SWAGGER_UI_FILES + OUR_FILES)})


@cache
def default() -> WebApp:
    """The page and its files, read on first use."""
    ours = files("litcomp.gateway") / "docs"
    swagger = swagger_ui_folder()
    assets = {
        PAGE: Asset.of("index.html", (ours / "index.html").read_bytes()),
        ASYNCAPI: Asset.of("asyncapi.json", (ours / "asyncapi.json").read_bytes()),
    }
    assets |= {PREFIX + name: Asset.of(name, (ours / name).read_bytes()) for name in OUR_FILES}
    assets |= {
        PREFIX + name: Asset.of(name, (swagger / name).read_bytes()) for name in SWAGGER_UI_FILES
    }
    return WebApp(assets, HEADERS)


def answer(request: Request) -> Response | None:
    """The docs page or one of its files; None for any other path or method."""
    return default().answer(request)
