"""The gRPC contracts between the services, called directly as the other service would."""

import uuid

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from litcomp.v1 import competitions_pb2, competitions_pb2_grpc, users_pb2, users_pb2_grpc
from tests.support import Account, Platform, create_competition, sign_up


def test_standard_health_service(users_channel: grpc.Channel, competitions_channel: grpc.Channel):
    for channel in (users_channel, competitions_channel):
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_get_users_leaves_out_unknown_ids(users_channel: grpc.Channel, writer: Account):
    stub = users_pb2_grpc.UsersStub(users_channel)
    answer = stub.GetUsers(
        users_pb2.GetUsersRequest(user_ids=[writer.user_id, str(uuid.uuid4())]), timeout=5
    )
    assert [(u.user_id, u.username, u.role) for u in answer.users] == [
        (writer.user_id, writer.username, "user")
    ]
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetUsers(users_pb2.GetUsersRequest(user_ids=["nope"]), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_subscribers_pages_through_all_of_them(
    users_channel: grpc.Channel, users: httpx.Client, competitions: httpx.Client, admin: Account
):
    competition_id = create_competition(competitions, admin, "Followed")
    followers = [sign_up(users, "follower") for _ in range(5)]
    for follower in followers:
        subscribed = users.post(f"/users/subscribe/{competition_id}", headers=follower.auth)
        assert subscribed.status_code == 200
    stub = users_pb2_grpc.UsersStub(users_channel)
    pages, token = [], ""
    while True:
        page = stub.ListSubscribers(
            users_pb2.ListSubscribersRequest(
                competition_id=competition_id, page_size=2, page_token=token
            ),
            timeout=5,
        )
        pages.append(list(page.user_ids))
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    everyone = [i for p in pages for i in p]
    assert everyone == sorted({f.user_id for f in followers}, key=uuid.UUID)


def test_list_followers_pages_through_all_of_them(
    users_channel: grpc.Channel, users: httpx.Client, writer: Account
):
    followers = [sign_up(users, "fan") for _ in range(5)]
    for follower in followers:
        assert users.post(f"/users/follow/{writer.user_id}", headers=follower.auth).is_success
    stub = users_pb2_grpc.UsersStub(users_channel)
    pages, token = [], ""
    while True:
        page = stub.ListFollowers(
            users_pb2.ListFollowersRequest(user_id=writer.user_id, page_size=2, page_token=token),
            timeout=5,
        )
        pages.append(list(page.user_ids))
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == sorted({f.user_id for f in followers}, key=uuid.UUID)
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListFollowers(users_pb2.ListFollowersRequest(user_id="not-a-uuid"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_get_competitions(
    competitions_channel: grpc.Channel, competitions: httpx.Client, admin: Account
):
    competition_id = create_competition(competitions, admin, "By id")
    details = competitions.get(f"/competitions/{competition_id}").json()
    stub = competitions_pb2_grpc.CompetitionsStub(competitions_channel)
    answer = stub.GetCompetitions(
        competitions_pb2.GetCompetitionsRequest(
            competition_ids=[competition_id, str(uuid.uuid4())]
        ),
        timeout=5,
    )
    [found] = answer.competitions
    assert (found.competition_id, found.title, found.admin_id) == (
        competition_id,
        "By id",
        admin.user_id,
    )
    assert found.end_date.ToJsonString() == details["end_date"].replace("Z", "") + "Z"


def test_list_user_submissions(
    competitions_channel: grpc.Channel, competitions: httpx.Client, admin: Account, writer: Account
):
    competition_id = create_competition(competitions, admin, "Entries")
    submitted = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "Mine", "content": "Text of *four* words"},
        headers=writer.auth,
    ).json()
    stub = competitions_pb2_grpc.CompetitionsStub(competitions_channel)
    answer = stub.ListUserSubmissions(
        competitions_pb2.ListUserSubmissionsRequest(user_id=writer.user_id), timeout=5
    )
    assert [(s.submission_id, s.title, s.content, s.word_count) for s in answer.submissions] == [
        (submitted["submission_id"], "Mine", "Text of *four* words", 4)
    ]
    [entry] = answer.submissions
    # Open and judged by likes: no place yet, likes shown (0), not disqualified.
    assert (entry.competition_title, entry.place, entry.HasField("likes"), entry.likes) == (
        "Entries",
        0,
        True,
        0,
    )
    assert entry.disqualified is False


def test_request_id_follows_the_request_across_services(
    platform: Platform, users: httpx.Client, writer: Account
):
    request_id = f"trace-{uuid.uuid4().hex}"
    response = users.get(
        "/users/profile/submissions", headers={**writer.auth, "X-Request-ID": request_id}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id
    assert platform.gateway.wait_for_log(request_id)
    assert platform.replicas["users"][0].wait_for_log(request_id)
    served = [
        record
        for replica in platform.replicas["competitions"]
        for record in replica.wait_for_log(request_id, timeout=1)
    ]
    assert [r["method"] for r in served] == ["ListUserSubmissions"]  # the gRPC server side
