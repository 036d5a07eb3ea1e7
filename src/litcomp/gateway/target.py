"""The request target, normalised once: what the gateway routes, limits and forwards.

A client can spell one resource many ways (``/users/login``, ``//users//login``,
``/users/./login``, ``/users/%6Cogin``, ``/users/login/``, ``/users/login#x``). The
gateway decides on one spelling and sends that same spelling upstream, so the rate
limiter and the router can never see another path than the service acts on (a raw
``/users/login#x`` slipped past the login limit: the service dropped the fragment).

``normalise`` gives the target to forward and the path to decide on:

- the fragment is dropped (it is never meant for the server);
- absolute-form (``http://host/path``) becomes origin-form if ``host`` is the Host
  header's; any other host, or a target that is not a path at all, is refused;
- percent-encoded unreserved characters (RFC 3986 2.3) are decoded and the other
  escapes written in upper case (6.2.2.1, 6.2.2.2);
- dot segments are removed (5.2.4): one that climbs above the root is refused;
- duplicate and trailing slashes are collapsed;
- the query is forwarded exactly as received.

Reserved characters stay encoded (``%2F``, ``%3F``, ``%25``...): RFC 3986 2.2 makes
``a%2Fb`` one segment and ``a/b`` two, so decoding them would change what the request
names. The path the gateway decides on is the forwarded path decoded as the services
decode it (uvicorn unquotes the whole path, ``%2F`` included, before routing), so a
``/users%2Flogin`` is limited as the login it becomes there. A decoded control
character (``%00``...) is refused: no route takes one, and NUL cannot be stored.

Most targets need none of this, so a few substring checks come first (this runs on
every request); only a target that fails them is taken apart.
"""

import re
from urllib.parse import unquote

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class BadTarget(ValueError):
    """The target cannot be normalised; the message says why (for a 400)."""


def normalise(target: str, headers: list[tuple[str, str]]) -> tuple[str, str]:
    """The target to forward and the path to route and limit on, from the target as
    received (``headers``, names in lower case, give the Host for absolute-form).

    Raises ``BadTarget`` for a target that names no path of this gateway."""
    query_at = target.find("?")
    path = target if query_at < 0 else target[:query_at]
    if (
        path.startswith("/")
        and "#" not in target
        and "%" not in path
        and "//" not in path
        and "/." not in path
        and (len(path) == 1 or not path.endswith("/"))
    ):
        return target, path  # nearly every request: already canonical
    return _normalise(target, headers)


def _normalise(target: str, headers: list[tuple[str, str]]) -> tuple[str, str]:
    fragment_at = target.find("#")
    if fragment_at >= 0:
        target = target[:fragment_at]
    if not target.startswith("/"):
        target = _origin_form(target, headers)
    query_at = target.find("?")
    path, query = (target, "") if query_at < 0 else (target[:query_at], target[query_at:])
    if "%" in path:
        path = _canonical_escapes(path)
    path = _without_dot_segments(path)
    decided = unquote(path) if "%" in path else path
    return path + query, decided


def _origin_form(target: str, headers: list[tuple[str, str]]) -> str:
    """``http://host/path?q`` as ``/path?q``, if ``host`` is this request's Host."""
    scheme, separator, rest = target.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise BadTarget("the request target must be a path")
    end = len(rest)
    for mark in "/?":
        at = rest.find(mark)
        if 0 <= at < end:
            end = at
    authority, target = rest[:end], rest[end:]
    host = next((value for name, value in headers if name == "host"), None)
    if host is None or authority.lower() != host.strip().lower():
        raise BadTarget("the request target names another host")
    return target if target.startswith("/") else "/" + target


def _canonical_escapes(path: str) -> str:
    """Unreserved characters decoded, other escapes in upper case (RFC 3986 6.2.2)."""
    if _BAD_ESCAPE.search(path):
        raise BadTarget("the path has a malformed percent-encoding")
    return _ESCAPE.sub(_canonical_escape, path)


def _canonical_escape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    if code < 0x20 or code == 0x7F:
        raise BadTarget("the path encodes a control character")
    character = chr(code)
    return character if character in _UNRESERVED else "%" + match.group(1).upper()


def _without_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 on an absolute path, then empty segments dropped: ``//`` and a
    trailing ``/`` collapse. A ``..`` above the root is refused, not ignored."""
    kept: list[str] = []
    for segment in path[1:].split("/"):
        if segment == "..":
            if not kept:
                raise BadTarget("the path climbs above the root")
            kept.pop()
        elif segment != ".":
            kept.append(segment)
    return "/" + "/".join(segment for segment in kept if segment)
