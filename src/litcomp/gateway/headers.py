"""What crosses the gateway in headers, both ways. Pure functions over header lists."""

from collections.abc import Iterable

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
# Set by the HTTP client or server for the message it actually sends.
_FRAMING = frozenset({"host", "content-length"})


def _forwarding(name: str) -> bool:
    """Only the gateway may say who the client is and how it came in."""
    lowered = name.lower()
    return lowered.startswith("x-forwarded-") or lowered in ("forwarded", "x-real-ip")


def _end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = list(headers)
    named_in_connection = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    dropped = HOP_BY_HOP | _FRAMING | named_in_connection
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


def upstream_request(
    headers: Iterable[tuple[str, str]],
    *,
    client_ip: str,
    scheme: str,
    host: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """The request headers to send upstream."""
    kept = [
        (name, value)
        for name, value in _end_to_end(headers)
        if not _forwarding(name) and name.lower() != "x-request-id"
    ]
    return [
        *kept,
        ("X-Forwarded-For", client_ip),
        ("X-Forwarded-Proto", scheme),
        ("X-Forwarded-Host", host),
        ("X-Request-ID", request_id),
    ]


def client_response(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers to hand back to the client (the gateway adds its own
    X-Request-ID, the one it sent upstream)."""
    return [(name, value) for name, value in _end_to_end(headers) if name.lower() != "x-request-id"]
