"""Admins suspend users: the rules of the routes, login refused with the reason, the
user's tokens refused by users and by every competitions replica (and their sockets
closed) within the refresh interval, and all of it undone by lifting the suspension."""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import PASSWORD, Account, Platform, expect_error, log_in, sign_up, unique, ws_url

# TEST_SETTINGS refresh every 0.5 s; a busy two-core machine gets some slack.
DEADLINE_SECONDS = 15
SUSPENDED_CLOSE = 4403


def suspend(users: httpx.Client, admin: Account, user_id: str, reason: object) -> httpx.Response:
    return users.post(f"/users/{user_id}/suspend", json={"reason": reason}, headers=admin.auth)


def lift(users: httpx.Client, admin: Account, user_id: str) -> httpx.Response:
    return users.delete(f"/users/{user_id}/suspend", headers=admin.auth)


def login(users: httpx.Client, account: Account, password: str = PASSWORD) -> httpx.Response:
    return users.post("/users/login", json={"email": account.email, "password": password})


def replica_urls(platform: Platform) -> list[str]:
    """Each competitions replica's own HTTP address: every one must refuse the token."""
    urls = []
    for process in platform.replicas["competitions"]:
        instance = platform.instance(process)
        urls.append(f"http://{instance['host']}:{instance['http_port']}")
    return urls


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"not within {DEADLINE_SECONDS} s: {what}"
        time.sleep(0.1)


def statuses(platform: Platform, users: httpx.Client, account: Account) -> list[int]:
    """What the token gets at users and at each competitions replica."""
    answers = [users.get("/users/profile", headers=account.auth).status_code]
    for url in replica_urls(platform):
        answers.append(httpx.get(f"{url}/notifications?limit=1", headers=account.auth).status_code)
    return answers


@pytest.fixture
def second_admin(platform: Platform, users: httpx.Client) -> Account:
    username = unique("admin")
    platform.create_admin(f"{username}@example.com", username)
    return log_in(users, f"{username}@example.com", username)


def test_only_admins_suspend_and_lift(users: httpx.Client, writer: Account, reader: Account):
    error = expect_error(suspend(users, reader, writer.user_id, "spam"), 403)
    assert error["code"] == "forbidden"
    assert expect_error(lift(users, reader, writer.user_id), 403)["code"] == "forbidden"
    anonymous = users.post(f"/users/{writer.user_id}/suspend", json={"reason": "spam"})
    expect_error(anonymous, 401)
    assert login(users, writer).status_code == 200


def test_an_unknown_user_is_404(users: httpx.Client, admin: Account):
    unknown = "00000000-0000-4000-8000-000000000000"
    expect_error(suspend(users, admin, unknown, "spam"), 404)
    expect_error(lift(users, admin, unknown), 404)
    expect_error(suspend(users, admin, "not-a-uuid", "spam"), 404)


def test_admins_suspend_neither_themselves_nor_another_admin(
    users: httpx.Client, admin: Account, second_admin: Account
):
    assert expect_error(suspend(users, admin, admin.user_id, "x"), 409)["code"] == "own_account"
    other = suspend(users, admin, second_admin.user_id, "x")
    assert expect_error(other, 409)["code"] == "admin_account"
    assert login(users, second_admin).status_code == 200


@pytest.mark.parametrize(
    "reason",
    ["", "   \n\t", "x" * 501, "nul \x00 inside", None, 42, ["spam"]],
    ids=["empty", "blank", "huge", "nul", "null", "number", "list"],
)
def test_a_reason_must_be_1_to_500_characters_of_text(
    users: httpx.Client, admin: Account, writer: Account, reason: object
):
    expect_error(suspend(users, admin, writer.user_id, reason), 422)
    assert login(users, writer).status_code == 200


def test_a_reason_with_a_lone_surrogate_or_a_stray_field_is_422(
    users: httpx.Client, admin: Account, writer: Account
):
    raw = b'{"reason": "half a pair \\ud800"}'
    headers = {**admin.auth, "Content-Type": "application/json"}
    expect_error(users.post(f"/users/{writer.user_id}/suspend", content=raw, headers=headers), 422)
    extra = users.post(
        f"/users/{writer.user_id}/suspend",
        json={"reason": "spam", "until": "never"},
        headers=admin.auth,
    )
    expect_error(extra, 422)


def test_a_suspended_user_cannot_log_in_and_sees_why(
    users: httpx.Client, admin: Account, writer: Account
):
    reason = "Ünïcödé: שלום 🙂 e\u0301 \u202eright-to-left\u202c " + "x" * 400  # 500 at most
    assert len(reason) <= 500
    suspended = suspend(users, admin, writer.user_id, reason)
    assert suspended.status_code == 200, suspended.text
    body = suspended.json()
    assert body["user_id"] == writer.user_id
    assert body["suspended"] is True
    assert body["reason"] == reason
    assert body["suspended_by"] == admin.user_id
    assert body["lifted_at"] is None and body["lifted_by"] is None
    datetime.fromisoformat(body["suspended_at"])

    error = expect_error(login(users, writer), 403)
    assert error["code"] == "suspended"
    assert reason in str(error["message"])
    # Only those who know the password learn of it.
    wrong = expect_error(login(users, writer, "not the password"), 401)
    assert wrong["code"] == "invalid_credentials"


def test_suspending_again_replaces_the_reason_and_keeps_the_start(
    users: httpx.Client, admin: Account, writer: Account
):
    first = suspend(users, admin, writer.user_id, "spam").json()
    again = suspend(users, admin, writer.user_id, "spam, and worse")
    assert again.status_code == 200
    assert again.json()["suspended_at"] == first["suspended_at"]
    assert again.json()["reason"] == "spam, and worse"
    same = suspend(users, admin, writer.user_id, "spam, and worse")
    assert same.json() == again.json()
    assert "spam, and worse" in str(expect_error(login(users, writer), 403)["message"])


def test_only_admins_see_a_suspension_on_the_public_profile(
    users: httpx.Client, admin: Account, writer: Account, reader: Account
):
    url = f"/users/{writer.user_id}"
    assert users.get(url, headers=admin.auth).json()["suspension"]["suspended"] is False
    suspend(users, admin, writer.user_id, "spam")
    seen = users.get(url, headers=admin.auth).json()["suspension"]
    assert (seen["suspended"], seen["reason"]) == (True, "spam")
    assert users.get(url, headers=reader.auth).json()["suspension"] is None
    assert users.get(url).json()["suspension"] is None


def test_tokens_stop_working_everywhere_and_lifting_restores_them(
    platform: Platform, users: httpx.Client, admin: Account, writer: Account
):
    assert statuses(platform, users, writer) == [200, 200, 200]
    suspend(users, admin, writer.user_id, "plagiarism")

    eventually(
        lambda: statuses(platform, users, writer) == [403, 403, 403],
        "the token refused by users and every competitions replica",
    )
    for url in ("/users/profile", "/notifications"):
        error = expect_error(users.get(url, headers=writer.auth), 403)
        assert error["code"] == "suspended"
        assert "plagiarism" in str(error["message"])
    # A route where a token is optional refuses it too: it would act as the user.
    expect_error(users.get(f"/users/{writer.user_id}", headers=writer.auth), 403)

    lifted = lift(users, admin, writer.user_id)
    assert lifted.status_code == 200
    body = lifted.json()
    assert body["suspended"] is False
    assert body["lifted_by"] == admin.user_id
    assert body["reason"] == "plagiarism"  # the record stays
    assert lift(users, admin, writer.user_id).json() == body  # lifting again changes nothing

    assert login(users, writer).status_code == 200
    eventually(
        lambda: statuses(platform, users, writer) == [200, 200, 200],
        "the old token taken again everywhere",
    )


async def _closed_with(socket: ClientConnection) -> tuple[int, str]:
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("unreachable")


async def test_sockets_of_a_suspended_user_are_closed_and_refused(
    platform: Platform, users: httpx.Client, admin: Account
):
    writer = await asyncio.to_thread(sign_up, users, "writer")
    url = f"{ws_url(platform.url)}/ws?token={writer.token}"
    open_socket = await connect(url)
    answer = await asyncio.to_thread(suspend, users, admin, writer.user_id, "abuse ✋")
    assert answer.status_code == 200
    code, reason = await _closed_with(open_socket)
    assert code == SUSPENDED_CLOSE
    assert "abuse ✋" in reason

    deadline = time.monotonic() + DEADLINE_SECONDS
    for _ in range(4):  # through the gateway: each replica, as it is chosen
        while True:
            new_socket = await connect(url)
            code, reason = await _closed_with(new_socket)
            if code == SUSPENDED_CLOSE or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert code == SUSPENDED_CLOSE
        assert reason.startswith("your account is suspended: abuse")
