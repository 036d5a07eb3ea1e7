"""The web app's pages at their real addresses (``/competitions/{id}``, ...).

A browser that opens, reloads or follows a shared link to one of the app's pages asks
the gateway for that address with an ``Accept`` that prefers HTML; it gets the app's
page (web.py), which then draws that page. Some of these addresses are also API paths
(``GET /competitions/{id}`` is a competition's JSON): any request that does not prefer
HTML (the app's own fetches, API clients, ``*/*``) is forwarded as it always was, so
the choice costs an API request a few compares (the Accept value is kept as the request
is parsed: ``Request.accept``).

``PAGES`` mirrors the routes of the app's router.js: a page added there is added here,
else a navigation to it gets the app with status 404 (the page still works).
"""

import re

from litcomp.gateway.messages import Request

PAGES = re.compile(
    r"/(?:|login|signup|password/forgot|password/reset|email/confirm|profile|notifications"
    r"|moderation|admin/new|search|writers/[^/]+"
    r"|competitions(?:/[^/]+(?:/entries/[^/]+|/results|/ballot|/edit)?)?)"
)
METHODS = ("GET", "HEAD")


def is_page(path: str) -> bool:
    return PAGES.fullmatch(path) is not None


def is_navigation(request: Request, *, own: bool = False) -> bool:
    """A browser opening an app page: GET or HEAD, ``Accept`` preferring HTML, a page's
    path. ``own``: any path the gateway has no route for (the app says "not found")."""
    return (
        request.method in METHODS
        and prefers_html(request.accept)
        and (own or is_page(request.path))
    )


def prefers_html(accept: str | None) -> bool:
    """Whether ``accept`` ranks ``text/html`` above ``application/json`` (RFC 9110
    12.5.1: each type takes the quality of the most specific range that matches it).
    A browser's navigation does (``text/html,...,*/*;q=0.8``); ``*/*``, no header, both
    ranked alike, or an ``Accept`` that does not name ``text/html`` keep the API's JSON."""
    if not accept or "text/html" not in accept:
        return False  # the common API request stops here
    html = _quality(accept, "text", "html")
    return html > 0 and html > _quality(accept, "application", "json")


def _quality(accept: str, kind: str, subtype: str) -> float:
    best_specificity, quality = -1, 0.0
    for media_range in accept.split(","):
        name, *parameters = media_range.split(";")
        range_kind, _, range_subtype = name.strip().lower().partition("/")
        if range_kind == kind and range_subtype == subtype:
            specificity = 2
        elif range_kind == kind and range_subtype == "*":
            specificity = 1
        elif range_kind == "*" and range_subtype == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, _q(parameters)
    return quality


def _q(parameters: list[str]) -> float:
    for parameter in parameters:
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0
