"""Requests and responses as the gateway handles them: plain data, encoded by hand.

The gateway parses HTTP with httptools (a C parser) and writes responses itself, so
per request it builds only these two small objects.
"""

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass(slots=True)
class Request:
    method: str
    target: str  # path and query exactly as received
    path: str
    headers: list[tuple[str, str]]  # names in lower case
    body: bytes
    client_ip: str
    keep_alive: bool
    upgrade: bool = False

    def header(self, name: str) -> str | None:
        """The first value of a header (``name`` in lower case)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def encode(self, *, keep_alive: bool, head: bool = False) -> bytes:
        """The response as sent; for a HEAD request (``head``) without its body.

        A HEAD answer says the length a GET would have had, when known: the
        gateway's own answers carry their body here; a proxied one has none and
        says no length (the upstream's is framing, dropped with the body)."""
        length = f"content-length: {len(self.body)}\r\n" if self.body or not head else ""
        text = "".join(
            [
                f"HTTP/1.1 {self.status} {_PHRASES.get(self.status, '')}\r\n",
                *[f"{name}: {value}\r\n" for name, value in self.headers],
                length,
                "\r\n" if keep_alive else "connection: close\r\n\r\n",
            ]
        )
        return text.encode("latin-1") + (b"" if head else self.body)


_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        status,
        [("content-type", "application/json"), *headers.items()],
        json.dumps(body, separators=(",", ":")).encode(),
    )


def error(status: int, code: str, message: str, **headers: str) -> Response:
    """The error body every litcomp service answers with."""
    return json_response(
        {"error": {"code": code, "message": message, "details": None}}, status, **headers
    )
