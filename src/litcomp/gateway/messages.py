"""Requests and responses as the gateway handles them: plain data, encoded by hand.

The gateway parses HTTP with httptools (a C parser) and writes responses itself, so
per request it builds only these two small objects.
"""

import json
from http import HTTPStatus
from typing import Any

from litcomp.kit.errors import error_body


class Request:
    # Plain classes rather than dataclasses: compiled by mypyc (setup.py), a
    # dataclass's generated __init__ stays interpreted, ~4k instructions per request each.
    __slots__ = (
        "accept",
        "body",
        "client_ip",
        "headers",
        "invalid",
        "keep_alive",
        "method",
        "path",
        "scheme",
        "target",
        "upgrade",
    )

    def __init__(
        self,
        *,
        method: str,
        target: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client_ip: str,
        keep_alive: bool,
        upgrade: bool = False,
        invalid: str = "",
        accept: str = "",
    ) -> None:
        self.method = method
        # The normalised path and the query as received: what is forwarded (target.py).
        self.target = target
        self.path = path  # the normalised path as services decode it: what is routed on
        self.headers = headers  # names in lower case
        self.body = body
        # The peer's address; the client's if the peer is a trusted proxy (clients.py).
        self.client_ip = client_ip
        self.scheme = "http"  # or what a trusted proxy says
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.invalid = invalid  # why the target cannot be normalised (400), or empty
        # The first Accept header's value, or empty: whether a browser is opening a page
        # (pages.py) is asked of every request, so it is kept as the head is parsed.
        self.accept = accept

    def header(self, name: str) -> str | None:
        """The first value of a header (``name`` in lower case)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, headers: list[tuple[str, str]] | None = None, body: bytes = b""
    ) -> None:
        self.status = status
        self.headers = [] if headers is None else headers
        self.body = body

    def encode(self, *, keep_alive: bool, head: bool = False) -> bytes:
        """The response as sent; for a HEAD request (``head``) without its body.

        A HEAD answer says the length a GET would have had, when known: the
        gateway's own answers carry their body here; a proxied one has none and
        says no length (the upstream's is framing, dropped with the body)."""
        lines = [_STATUS_LINES.get(self.status) or f"HTTP/1.1 {self.status} \r\n"]
        for name, value in self.headers:
            lines.append(f"{name}: {value}\r\n")
        if self.body or not head:
            lines.append(f"content-length: {len(self.body)}\r\n")
        lines.append("\r\n" if keep_alive else "connection: close\r\n\r\n")
        return "".join(lines).encode("latin-1") + (b"" if head else self.body)


_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n" for status in HTTPStatus
}


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        status,
        [("content-type", "application/json"), *headers.items()],
        json.dumps(body, separators=(",", ":")).encode(),
    )


def error(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response(error_body(code, message), status, **headers)
