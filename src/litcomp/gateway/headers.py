"""What crosses the gateway in headers, both ways. Pure functions over header lists.

Header names are in lower case: the gateway's parsers (client_protocol.py, pool.py) make
them so as they read them, once, so nothing here lower-cases on every comparison.
Header lists are typed ``list``, not ``Sequence``: compiled (setup.py), a list
is walked by index, any sequence through the iterator protocol.
"""

from functools import lru_cache

# RFC 9110 section 7.6.1, plus the ones proxies conventionally drop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the HTTP client or server for the message it actually sends. ``Expect``: the
# gateway has the whole body before it sends, so it asks no instance for 100 Continue.
_FRAMING = frozenset({"host", "content-length", "expect"})
# Only the gateway may say who the client is, how it came in and which request this is
# (``x-forwarded-*`` too, by prefix).
_GATEWAY_SAYS = frozenset({"forwarded", "x-real-ip", "x-request-id"})

_NOT_TO_INSTANCE = HOP_BY_HOP | _FRAMING | _GATEWAY_SAYS
# The gateway adds its own X-Request-ID to the answer: the one it sent upstream. An
# instance's Server says what runs behind the gateway, which is nobody's business.
_NOT_TO_CLIENT = HOP_BY_HOP | _FRAMING | {"x-request-id", "server"}


@lru_cache(maxsize=256)
def _and_named_in(dropped: frozenset[str], connection: str) -> frozenset[str]:
    """``dropped`` and the headers a ``Connection`` value declares hop-by-hop.

    Cached: nearly every message says one of a few values (``keep-alive``, ``close``,
    ``Upgrade``), and this is on every request's path, both ways."""
    return dropped | {token.strip().lower() for token in connection.split(",")}


def _dropped(headers: list[tuple[str, str]], always: frozenset[str]) -> frozenset[str]:
    """The headers not to pass on: ``always``, and those ``Connection`` names."""
    dropped = always
    for name, value in headers:
        if name == "connection":
            dropped = _and_named_in(dropped, value)
    return dropped


def to_instance(
    headers: list[tuple[str, str]],
    *,
    client_ip: str,
    scheme: str,
    host: str,
    request_id: str,
) -> str:
    """The request's header lines to send to the instance, each ``name: value\\r\\n``: made
    as lines at once, the request is encoded in one more step (on every request's path)."""
    dropped = _dropped(headers, _NOT_TO_INSTANCE)
    lines = [
        f"{name}: {value}\r\n"
        for name, value in headers
        if name not in dropped and not name.startswith("x-forwarded-")
    ]
    lines.append(
        f"x-forwarded-for: {client_ip}\r\nx-forwarded-proto: {scheme}\r\n"
        f"x-forwarded-host: {host}\r\nx-request-id: {request_id}\r\n"
    )
    return "".join(lines)


def to_client(headers: list[tuple[str, str]], instance: str) -> list[tuple[str, str]]:
    """The response headers of ``instance`` (its ``host:port``) to hand back to the
    client: no internal address among them (see ``public_location``)."""
    dropped = _dropped(headers, _NOT_TO_CLIENT)
    kept = []
    for name, value in headers:
        if name in dropped:
            continue
        if name == "location":
            value = public_location(value, instance)
        kept.append((name, value))
    return kept


def public_location(location: str, instance: str) -> str:
    """``location`` made relative (its path, query and fragment) if it is an absolute
    URL of ``instance`` (``host:port``), which the client cannot and must not reach:
    relative, it resolves against the gateway's own origin. Any other is left as is."""
    scheme, slashes, rest = location.partition("//")
    if not slashes or scheme.lower() not in ("", "http:", "https:"):
        return location
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if 0 <= found < end:
            end = found
    if rest[:end].lower() != instance.lower():
        return location
    path = rest[end:]
    return path if path.startswith("/") else "/" + path
