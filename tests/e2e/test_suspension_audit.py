"""Admins' suspensions in the moderation audit log: the users service sends each
suspension, changed reason and lift to competitions from its outbox (asynchronously,
so the tests wait with a deadline), replays add nothing, and the RPC that records them
is idempotent by the action's id."""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from litcomp.v1 import competitions_pb2 as pb
from litcomp.v1.competitions_pb2_grpc import CompetitionsStub
from tests.support import Account, expect_error

DEADLINE_SECONDS = 15
Json = dict[str, Any]


def actions_on(competitions: httpx.Client, admin: Account, target_id: str) -> list[Json]:
    """The audit rows about one user, oldest first."""
    answer = competitions.get("/moderation/actions?limit=100", headers=admin.auth)
    assert answer.status_code == 200, answer.text
    return [row for row in reversed(answer.json()["items"]) if row["target_id"] == target_id]


def wait_for(competitions: httpx.Client, admin: Account, target_id: str, count: int) -> list[Json]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(rows := actions_on(competitions, admin, target_id)) < count:
        assert time.monotonic() < deadline, f"{len(rows)} of {count} actions logged: {rows}"
        time.sleep(0.1)
    return rows


def test_suspensions_and_lifts_are_in_the_audit_log_once_each(
    users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account
):
    url = f"/users/{writer.user_id}/suspend"
    assert users.post(url, json={"reason": "spam"}, headers=admin.auth).status_code == 200
    # A replay changes nothing and is not logged again; a changed reason is an action.
    assert users.post(url, json={"reason": "spam"}, headers=admin.auth).status_code == 200
    assert users.post(url, json={"reason": "spam ✉"}, headers=admin.auth).status_code == 200
    assert users.delete(url, headers=admin.auth).status_code == 200
    assert users.delete(url, headers=admin.auth).status_code == 200  # nothing to lift

    rows = wait_for(competitions, admin, writer.user_id, 3)
    assert [(r["action"], r["reason"]) for r in rows] == [
        ("suspend_user", "spam"),
        ("suspend_user", "spam ✉"),
        ("lift_suspension", ""),
    ]
    for row in rows:
        assert row["actor_id"] == admin.user_id
        assert row["target_type"] == "user"
        assert row["competition_id"] is None
    record = users.get(f"/users/{writer.user_id}", headers=admin.auth).json()["suspension"]
    assert rows[-1]["created_at"] == record["lifted_at"]  # when the admin acted
    time.sleep(1)  # nothing more arrives
    assert actions_on(competitions, admin, writer.user_id) == rows

    # Only admins read the log, these rows included.
    expect_error(competitions.get("/moderation/actions", headers=writer.auth), 403)


def _action(action_id: str, user_id: str, actor_id: str, action: str = "suspend_user") -> Any:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return pb.ModerationAction(
        action_id=action_id,
        action=action,
        actor_id=actor_id,
        user_id=user_id,
        reason="sent twice",
        created_at=stamp,
    )


def test_recording_an_action_again_stores_it_once(
    competitions_channel: grpc.Channel, competitions: httpx.Client, admin: Account
):
    stub = CompetitionsStub(competitions_channel)
    user_id, action_id = str(uuid.uuid4()), str(uuid.uuid4())
    request = pb.RecordModerationActionsRequest(
        actions=[_action(action_id, user_id, admin.user_id)]
    )
    assert stub.RecordModerationActions(request, timeout=5).recorded == 1
    assert stub.RecordModerationActions(request, timeout=5).recorded == 0
    [row] = actions_on(competitions, admin, user_id)
    assert (row["action_id"], row["reason"]) == (action_id, "sent twice")

    for bad in (
        _action(str(uuid.uuid4()), user_id, admin.user_id, action="disqualify_submission"),
        _action("not-an-id", user_id, admin.user_id),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            stub.RecordModerationActions(
                pb.RecordModerationActionsRequest(actions=[bad]), timeout=5
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    too_many = [_action(str(uuid.uuid4()), user_id, admin.user_id) for _ in range(501)]
    with pytest.raises(grpc.RpcError) as refused:
        stub.RecordModerationActions(pb.RecordModerationActionsRequest(actions=too_many), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(actions_on(competitions, admin, user_id)) == 1
