"""The AsyncAPI 3.0 document of the notification WebSocket, made from ``schemas``.

The gateway serves it at ``/asyncapi.json`` but imports no service, so the document is
a file committed in the gateway package (``gateway/docs/asyncapi.json``), written by
``make asyncapi`` (``python -m litcomp.competitions.notifications.asyncapi PATH``); a
test fails when the file differs from what ``document()`` makes.

The document describes the server: ``send`` is what it sends to a client (the
notices, and ``pong``), ``receive`` what it takes from one (``ping``).
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from litcomp.competitions.notifications import sockets
from litcomp.competitions.notifications.schemas import TYPES, Pong

SCHEMA_REF = "#/components/schemas/"
MESSAGE_REF = "#/components/messages/"
CHANNEL = "notifications"

DESCRIPTION = f"""\
Notices over a WebSocket at `{sockets.PATH}` on the gateway, which tunnels the socket to \
a competitions instance. Authenticate with `Authorization: Bearer <token>` (from \
`POST /users/login`) or, from a browser, `?token=<token>`. `?after=<id>` resumes after \
the last notice id you saw: everything newer is sent first, nothing is lost; without it, \
only notices from now on. The same notices, each with `read`, are listed by \
`GET /notifications` (see `/openapi.json`).

Each notice is a JSON text message; its `type` says which message it is and what its \
`data` holds. Fields may be added, never renamed: ignore those you do not know.

Close codes: **{sockets.UNAUTHORIZED}** a missing or bad token; **{sockets.SUSPENDED}** \
the user is suspended (at once, or when it happens; the reason follows "suspended: "); \
**{sockets.SERVICE_RESTART}** the instance is restarting; **{sockets.TRY_AGAIN_LATER}** \
the client fell too far behind. After {sockets.SERVICE_RESTART} or \
{sockets.TRY_AGAIN_LATER}, reconnect with `?after=` the last id you saw.

This document describes the server: `send` is what it sends to a client, `receive` \
what it takes from one."""

_QUERY = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "description": "a bearer token, for browsers"},
        "after": {
            "type": "integer",
            "minimum": 0,
            "description": "resume after this notice id (400 at the handshake if not one)",
        },
    },
}
_HEADERS = {
    "type": "object",
    "properties": {
        "Authorization": {"type": "string", "description": "`Bearer <token>`"},
    },
}
_PING = {
    "name": "ping",
    "title": "Ping",
    "summary": "Asks for a pong: the text `ping`, not JSON.",
    "contentType": "text/plain",
    "payload": {"type": "string", "const": "ping"},
}


def document() -> dict[str, Any]:
    """The whole document, as the gateway serves it."""
    names = {name: _message_name(name) for name in TYPES}
    messages: dict[str, Any] = {
        names[name]: _message(name, model) for name, model in sorted(TYPES.items())
    }
    messages["ping"] = _PING
    messages["pong"] = _message("pong", Pong, "Answers a ping.")
    notices = [{"$ref": f"#/channels/{CHANNEL}/messages/{names[name]}"} for name in sorted(TYPES)]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "litcomp notifications",
            "version": version("litcomp"),
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "gateway": {
                "host": "{host}",
                "protocol": "ws",
                "description": "the gateway (wss behind a TLS terminator)",
                "variables": {"host": {"default": "127.0.0.1:8000"}},
            }
        },
        "channels": {
            CHANNEL: {
                "address": sockets.PATH,
                "title": "Notifications",
                "description": "One user's notices, in id order.",
                "servers": [{"$ref": "#/servers/gateway"}],
                "messages": {key: {"$ref": MESSAGE_REF + key} for key in messages},
                "bindings": {"ws": {"method": "GET", "query": _QUERY, "headers": _HEADERS}},
            }
        },
        "operations": {
            "sendNotice": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "A notice, as soon as it is recorded (missed ones first).",
                "messages": notices,
            },
            "receivePing": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "An application-level ping, answered with a pong.",
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/ping"}],
                "reply": {
                    "channel": {"$ref": f"#/channels/{CHANNEL}"},
                    "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/pong"}],
                },
            },
        },
        "components": {"schemas": _schemas(), "messages": messages},
    }


def _schemas() -> dict[str, Any]:
    """Every model's JSON Schema, by name, as a client receives it."""
    models: list[type[BaseModel]] = [*TYPES.values(), Pong]
    _, top = models_json_schema(
        [(model, "serialization") for model in models], ref_template=SCHEMA_REF + "{model}"
    )
    return dict(sorted(top["$defs"].items()))


def _message(name: str, model: type[BaseModel], summary: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "title": model.__name__,
        "summary": summary or (model.__doc__ or "").strip(),
        "payload": {"$ref": SCHEMA_REF + model.__name__},
    }


def _message_name(type_name: str) -> str:
    """A component key for a notice type: ``comment.created`` -> ``commentCreated``."""
    first, *rest = type_name.split(".")
    return first + "".join(part.capitalize() for part in rest)


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    (path,) = argv
    Path(path).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
