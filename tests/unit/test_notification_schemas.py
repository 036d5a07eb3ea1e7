"""The notice models: each one round-trips, and TYPES names every one producers can send."""

import inspect
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, TypeAdapter

from litcomp.competitions.notifications import schemas
from litcomp.competitions.notifications.api import NotificationPage
from litcomp.competitions.notifications.schemas import (
    TYPES,
    AboutComment,
    AboutEntry,
    Disqualified,
    Listed,
    Message,
    Placed,
    PlacedEntry,
    Revealed,
)

ENTRY = AboutEntry(
    competition_id=uuid.uuid4(),
    competition_title="Spring",
    submission_id=uuid.uuid4(),
    submission_title="Haiku",
    actor_id=uuid.uuid4(),
    actor_username="reader",
)
DATA: dict[type[BaseModel], BaseModel] = {
    AboutEntry: ENTRY,
    AboutComment: AboutComment(**dict(ENTRY), comment_id=uuid.uuid4(), parent_id=None),
    Placed: Placed(
        competition_id=ENTRY.competition_id,
        competition_title="Spring",
        place=1,
        participants=3,
        entries=[PlacedEntry(submission_id=ENTRY.submission_id, title="Haiku", place=1, likes=2)],
    ),
    Disqualified: Disqualified(
        competition_id=ENTRY.competition_id,
        competition_title="Spring",
        submission_id=ENTRY.submission_id,
        submission_title="Haiku",
        reason="Copied",
    ),
    Revealed: Revealed(competition_id=ENTRY.competition_id, competition_title="Spring", entries=3),
}


def _message_models() -> set[type[Message[BaseModel]]]:
    """Every model in schemas that names a type of its own (the listed variants name none)."""
    return {
        model
        for _, model in inspect.getmembers(schemas, inspect.isclass)
        if issubclass(model, Message)
        and model is not Message
        and "type" in vars(model).get("__annotations__", {})
    }


def test_types_names_every_message_model_by_its_type() -> None:
    assert set(TYPES.values()) == _message_models()
    assert set(TYPES) == {
        "submission.created",
        "submission.liked",
        "comment.created",
        "comment.replied",
        "competition.placed",
        "competition.revealed",
        "submission.disqualified",
        "writer.published",
    }


@pytest.mark.parametrize("name", sorted(TYPES))
def test_each_message_round_trips_through_json(name: str) -> None:
    model = TYPES[name]
    data = DATA[model.model_fields["data"].annotation]  # type: ignore[index]
    created_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    message = model.model_validate({"id": 7, "type": name, "data": data, "created_at": created_at})
    text = message.model_dump_json()
    assert model.model_validate_json(text) == message
    listed = TypeAdapter(Listed).validate_json(text[:-1] + ', "read": false}')
    assert type(listed).__mro__[1] is model and listed.data == data


def test_the_listing_schema_is_a_union_discriminated_by_type() -> None:
    schema = NotificationPage.model_json_schema(mode="serialization")
    items = schema["properties"]["items"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    assert len(items["oneOf"]) == len(TYPES)
