"""The notification WebSocket's AsyncAPI document: made from the models, committed in the
gateway package, and whole (every reference names something in it)."""

from importlib.resources import files
from typing import Any

from litcomp.competitions.notifications import asyncapi, sockets
from litcomp.competitions.notifications.schemas import TYPES

COMMITTED = files("litcomp.gateway") / "docs" / "asyncapi.json"


def test_the_committed_document_is_the_one_the_models_make() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(), (
        "src/litcomp/gateway/docs/asyncapi.json is out of date: run make asyncapi"
    )


def test_every_notice_type_is_a_message_the_server_sends() -> None:
    document = asyncapi.document()
    sent = document["operations"]["sendNotice"]["messages"]
    names = {_message(document, ref)["name"] for ref in sent}
    assert names == set(TYPES)
    ping = document["operations"]["receivePing"]
    assert document["channels"]["notifications"]["address"] == sockets.PATH
    assert [_message(document, ref)["name"] for ref in ping["messages"]] == ["ping"]
    assert [_message(document, ref)["name"] for ref in ping["reply"]["messages"]] == ["pong"]


def test_the_close_codes_are_described() -> None:
    description = asyncapi.document()["info"]["description"]
    for code in (sockets.UNAUTHORIZED, sockets.SERVICE_RESTART, sockets.TRY_AGAIN_LATER):
        assert f"**{code}**" in description


def test_every_reference_resolves() -> None:
    document = asyncapi.document()
    refs = list(_refs(document))
    assert refs
    for ref in refs:
        assert _resolve(document, {"$ref": ref}), ref


def _refs(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], reference: dict[str, str]) -> Any:
    """What a local ``{"$ref": "#/a/b"}`` points at."""
    node: Any = document
    for part in reference["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return node


def _message(document: dict[str, Any], reference: dict[str, str]) -> Any:
    """A message an operation names: through its channel to the component."""
    return _resolve(document, _resolve(document, reference))
