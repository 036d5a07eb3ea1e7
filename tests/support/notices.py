"""Every notice the tests see, checked against the AsyncAPI document the gateway serves.

``validate`` takes one message as a client decodes it (a notice, or a pong) and raises
``jsonschema.ValidationError`` unless the document's schema for its ``type`` accepts
it; a type the document does not name is refused too. The WebSocket clients of the
tests call it on each message they read, and the HTTP clients that can list notices
pass ``HOOKS`` (or ``ASYNC_HOOKS``), which check each item of ``GET /notifications``
(the same notice, with ``read``).
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any

import httpx
from jsonschema import Draft7Validator, FormatChecker, ValidationError


def validate(message: Any) -> None:
    """Raise ``ValidationError`` unless ``message`` is one the document describes."""
    kind = message.get("type") if isinstance(message, dict) else None
    validator = _validators().get(kind)
    if validator is None:
        raise ValidationError(f"{kind!r} is not a message type of the AsyncAPI document")
    validator.validate(message)


@cache
def _validators() -> dict[str, Draft7Validator]:
    """One validator per message type (the ``const`` of its payload's ``type``).

    AsyncAPI 3.0's default schema format is a superset of JSON Schema draft 7. Each
    validator's schema carries the document's components, so that the references in
    it (``#/components/schemas/...``) resolve as they do in the document."""
    document = json.loads((files("litcomp.gateway") / "docs" / "asyncapi.json").read_bytes())
    schemas = document["components"]["schemas"]
    validators = {}
    for message in document["components"]["messages"].values():
        reference = message["payload"].get("$ref", "")
        name = reference.removeprefix("#/components/schemas/")
        if name not in schemas:
            continue  # ping: plain text a client sends, never one it receives
        validators[schemas[name]["properties"]["type"]["const"]] = Draft7Validator(
            {"$ref": reference, "components": {"schemas": schemas}},
            # Every format jsonschema knows: draft 7's own list lacks uuid.
            format_checker=FormatChecker(),
        )
    return validators


def _check_listed(response: httpx.Response) -> None:
    if (
        response.request.method == "GET"
        and response.url.path == "/notifications"
        and response.status_code == 200
    ):
        for item in response.json()["items"]:
            validate(item)


def check_listed(response: httpx.Response) -> None:
    response.read()
    _check_listed(response)


async def check_listed_async(response: httpx.Response) -> None:
    await response.aread()
    _check_listed(response)


HOOKS = {"response": [check_listed]}
ASYNC_HOOKS = {"response": [check_listed_async]}
