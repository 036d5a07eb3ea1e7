"""The pure parts of sending suspensions to the audit log: how long a refused outbox
row waits, and what competitions accepts from the users service."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from litcomp.competitions.grpc import user_action
from litcomp.kit.background import MAX_RETRY_SECONDS, retry_delay
from litcomp.kit.errors import Invalid
from litcomp.v1 import competitions_pb2 as pb


def test_a_refused_row_waits_twice_as_long_each_time_up_to_five_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in range(10)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ]
    assert retry_delay(10_000) == timedelta(seconds=MAX_RETRY_SECONDS)


def _message(**changes: object) -> pb.ModerationAction:
    stamp = Timestamp()
    stamp.FromDatetime(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    fields: dict[str, object] = {
        "action_id": str(uuid.uuid4()),
        "action": "suspend_user",
        "actor_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "reason": "spam 🙂",
        "created_at": stamp,
        **changes,
    }
    return pb.ModerationAction(**fields)  # type: ignore[arg-type]


def test_an_action_on_a_user_keeps_its_id_time_and_reason() -> None:
    message = _message(action="lift_suspension", reason="")
    action = user_action(message)
    assert str(action.action_id) == message.action_id
    assert (action.action, action.reason) == ("lift_suspension", "")
    assert (str(action.actor_id), str(action.user_id)) == (message.actor_id, message.user_id)
    assert action.created_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"action": "hide_comment"},
        {"action": ""},
        {"action_id": "nope"},
        {"actor_id": ""},
        {"user_id": "42"},
        {"created_at": None},
        {"reason": "nul \x00"},
    ],
    ids=["other action", "no action", "bad id", "no actor", "bad user", "no time", "nul"],
)
def test_anything_else_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        user_action(_message(**changes))
