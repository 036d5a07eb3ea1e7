"""Anonymous competitions through the gateway: until the results nobody but the author
and admins learns who wrote an entry, by any path, and nobody sees like counts; at the
results everything is revealed and followers are told."""

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from websockets.asyncio.client import connect

from litcomp.v1 import competitions_pb2, competitions_pb2_grpc
from tests.support import Account, Platform, create_competition, expect_error, sign_up, ws_url

Json = dict[str, Any]


def notices(competitions: httpx.Client, who: Account, kind: str) -> list[Json]:
    answer = competitions.get("/notifications?limit=100", headers=who.auth)
    return [n for n in answer.json()["items"] if n["type"] == kind]


def over_the_socket(platform: Platform, who: Account, count: int) -> list[Json]:
    """The first ``count`` notices ``who`` gets over the WebSocket, from their first."""

    async def read() -> list[Json]:
        url = f"{ws_url(platform.url)}/ws?after=0"
        async with connect(url, additional_headers=who.auth) as socket:
            return [json.loads(await asyncio.wait_for(socket.recv(), 5)) for _ in range(count)]

    return asyncio.run(read())


def eventually(found: Callable[[], list[Json]], timeout: float = 10) -> list[Json]:
    deadline = time.monotonic() + timeout
    while not (seen := found()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


class Contest:
    """An anonymous competition open for a few seconds, then voting until its results."""

    def __init__(self, competitions: httpx.Client, admin: Account, **fields: object) -> None:
        self.client = competitions
        self.start = datetime.now(UTC) - timedelta(seconds=1)
        self.end = self.start + timedelta(seconds=7)
        self.results_at = self.end + timedelta(seconds=4)
        self.id = create_competition(
            competitions,
            admin,
            "Masked",
            starts_in=timedelta(seconds=-1),
            lasts=self.end - self.start,
            voting_end_date=self.results_at.isoformat(),
            anonymous=True,
            **fields,
        )
        self.url = f"/competitions/{self.id}"

    def post(self, path: str, who: Account, body: object = None) -> httpx.Response:
        return self.client.post(f"{self.url}{path}", json=body, headers=who.auth)

    def get(self, path: str, who: Account | None = None) -> Json:
        answer = self.client.get(f"{self.url}{path}", headers=who.auth if who else {})
        assert answer.status_code == 200, answer.text
        result: Json = answer.json()
        return result

    def wait_for(self, moment: datetime) -> None:
        time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)


@pytest.fixture
def follower(users: httpx.Client) -> Account:
    return sign_up(users, "follower")


def test_until_the_results_only_the_author_and_admins_know_who_wrote_it(
    platform: Platform,
    users: httpx.Client,
    competitions: httpx.Client,
    competitions_channel: grpc.Channel,
    admin: Account,
    writer: Account,
    reader: Account,
    follower: Account,
):
    contest = Contest(competitions, admin)
    assert contest.get("")["anonymous"] is True
    assert users.post(f"/users/subscribe/{contest.id}", headers=follower.auth).is_success
    entered = contest.post("/submit", writer, {"title": "Masked tale", "content": "Who am I?"})
    entry = entered.json()["submission_id"]

    # Lists and the entry page, as a visitor, a reader, the author and an admin.
    for who in (None, reader):
        [listed] = contest.get("/submissions", who)["items"]
        assert (listed["author"], listed["is_mine"], listed["likes"]) == (None, False, None)
        page = contest.get(f"/submissions/{entry}", who)
        assert (page["author"], page["is_mine"], page["likes"]) == (None, False, None)
    [own] = contest.get("/submissions", writer)["items"]
    assert (own["author"]["user_id"], own["is_mine"], own["likes"]) == (writer.user_id, True, None)
    [seen_by_admin] = contest.get("/submissions", admin)["items"]
    assert seen_by_admin["author"]["username"] == writer.username
    assert seen_by_admin["likes"] is None  # counts are hidden from everyone
    hidden_order = expect_error(competitions.get(f"{contest.url}/submissions?sort=top"), 409)
    assert hidden_order["code"] == "likes_hidden"

    # A follower hears of the new entry, not of its author.
    [announced] = eventually(lambda: notices(competitions, follower, "submission.created"))
    assert (announced["data"]["actor_id"], announced["data"]["actor_username"]) == (None, None)

    # The author answering a comment on their own entry is "the author", not a name.
    question = contest.post(f"/comment/{entry}", reader, {"content": "Who wrote this?"}).json()
    contest.post(
        f"/comment/{entry}", writer, {"content": "Not telling", "parent_id": question["comment_id"]}
    )
    [thread] = contest.get(f"/submissions/{entry}", reader)["comments"]
    [answer] = thread["replies"]
    assert (answer["author"], answer["by_entry_author"]) == (None, True)
    assert (thread["author"]["user_id"], thread["by_entry_author"]) == (reader.user_id, False)
    [replied] = eventually(lambda: notices(competitions, reader, "comment.replied"))
    assert (replied["data"]["actor_id"], replied["data"]["actor_username"]) == (None, None)
    assert writer.username not in str(contest.get(f"/submissions/{entry}", reader))

    # The writer's entries list it for them; the gRPC answer to others' questions does not.
    mine = users.get("/users/profile/submissions", headers=writer.auth).json()
    assert [e["submission_id"] for e in mine] == [entry]
    stub = competitions_pb2_grpc.CompetitionsStub(competitions_channel)
    asked = competitions_pb2.ListUserSubmissionsRequest(user_id=writer.user_id)
    assert list(stub.ListUserSubmissions(asked, timeout=5).submissions) == []

    # Voting: a like is counted but neither shown nor announced to the author.
    contest.wait_for(contest.end)
    assert contest.post(f"/like/{entry}", reader).status_code == 200
    assert contest.get(f"/submissions/{entry}", writer)["likes"] is None
    assert contest.get(f"/submissions/{entry}", reader)["liked_by_me"] is True
    assert notices(competitions, writer, "submission.liked") == []

    # Results: everything is revealed, and followers are told.
    contest.wait_for(contest.results_at)
    [placing] = contest.get("/results")["items"]
    assert (placing["author_id"], placing["likes"]) == (writer.user_id, 1)
    [listed] = contest.get("/submissions")["items"]
    assert (listed["author"]["username"], listed["likes"]) == (writer.username, 1)
    [thread] = contest.get(f"/submissions/{entry}")["comments"]
    assert thread["replies"][0]["author"]["user_id"] == writer.user_id
    assert [e.submission_id for e in stub.ListUserSubmissions(asked, timeout=5).submissions] == [
        entry
    ]
    [revealed] = eventually(lambda: notices(competitions, follower, "competition.revealed"))
    # The WebSocket sends the same notices, as they were when sent: anonymous then.
    sent = over_the_socket(platform, follower, 2)
    assert [n["type"] for n in sent] == ["submission.created", "competition.revealed"]
    assert sent[0]["data"]["actor_id"] is None and writer.username not in str(sent)
    [reply] = over_the_socket(platform, reader, 1)
    assert (reply["type"], reply["data"]["actor_id"]) == ("comment.replied", None)
    assert revealed["data"] == {
        "competition_id": contest.id,
        "competition_title": "Masked",
        "entries": 1,
    }


def test_the_default_stays_open_and_admins_can_change_it(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    competition_id = create_competition(competitions, admin, "Named")
    url = f"/competitions/{competition_id}"
    assert competitions.get(url).json()["anonymous"] is False
    entered = competitions.post(
        f"{url}/submit", json={"title": "T", "content": "Words"}, headers=writer.auth
    ).json()
    [listed] = competitions.get(f"{url}/submissions", headers=reader.auth).json()["items"]
    assert (listed["author"]["user_id"], listed["is_mine"], listed["likes"]) == (
        writer.user_id,
        False,
        0,
    )
    summaries = {c["competition_id"]: c for c in competitions.get("/competitions").json()}
    assert summaries[competition_id]["anonymous"] is False

    # Not the competition's admin, or not a boolean: refused; its admin can turn it on.
    stranger = competitions.patch(url, json={"anonymous": True}, headers=reader.auth)
    assert expect_error(stranger, 403)["code"] == "forbidden"
    expect_error(competitions.patch(url, json={"anonymous": None}, headers=admin.auth), 422)
    expect_error(competitions.patch(url, json={"anonymous": "maybe"}, headers=admin.auth), 422)
    changed = competitions.patch(url, json={"anonymous": True}, headers=admin.auth)
    assert changed.json()["anonymous"] is True
    page = competitions.get(f"{url}/submissions/{entered['submission_id']}", headers=reader.auth)
    assert page.json()["author"] is None
    assert competitions.get(url).json()["anonymous"] is True  # the cache was invalidated
