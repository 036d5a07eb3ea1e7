"""Moderation through the gateway: readers report, admins dismiss, hide and
disqualify, every act is in the audit log, and writers edit and delete their comments.
Each route is tried as an attacker would: the wrong person, twice, bad bodies."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, sign_up

Json = dict[str, Any]


class Place:
    """A competition with one entry by ``writer`` and a comment on it by ``reader``."""

    def __init__(
        self, competitions: httpx.Client, admin: Account, writer: Account, reader: Account
    ) -> None:
        self.client = competitions
        self.id = create_competition(competitions, admin, "Moderated")
        self.url = f"/competitions/{self.id}"
        entered = self.post("/submit", writer, {"title": "Borrowed", "content": "Whose words?"})
        self.entry = entered.json()["submission_id"]
        said = self.post(f"/comment/{self.entry}", reader, {"content": "Rude words here"})
        self.comment = said.json()["comment_id"]

    def post(self, path: str, who: Account | None, body: object = None) -> httpx.Response:
        return self.client.post(f"{self.url}{path}", json=body, headers=who.auth if who else {})

    def entry_page(self, who: Account | None) -> Json:
        answer = self.client.get(
            f"{self.url}/submissions/{self.entry}", headers=who.auth if who else {}
        )
        assert answer.status_code == 200, answer.text
        page: Json = answer.json()
        return page


@pytest.fixture
def place(competitions: httpx.Client, admin: Account, writer: Account, reader: Account) -> Place:
    return Place(competitions, admin, writer, reader)


def open_reports(competitions: httpx.Client, admin: Account) -> list[Json]:
    answer = competitions.get("/moderation/reports?status=open&limit=100", headers=admin.auth)
    assert answer.status_code == 200, answer.text
    items: list[Json] = answer.json()["items"]
    return items


def test_readers_report_once_per_item_and_bad_reports_are_refused(
    users: httpx.Client, competitions: httpx.Client, admin: Account, place: Place, reader: Account
):
    report = {"reason": "plagiarism", "text": "Copied from «Les Misérables» 📚 \u200d"}
    first = place.post(f"/submissions/{place.entry}/report", reader, report)
    assert first.status_code == 201, first.text
    again = place.post(f"/submissions/{place.entry}/report", reader, report)
    assert expect_error(again, 409)["code"] == "already_reported"
    other = sign_up(users, "other")
    assert place.post(f"/submissions/{place.entry}/report", other, report).status_code == 201
    said = place.post(f"/comments/{place.comment}/report", reader, {"reason": "abuse"})
    assert said.status_code == 201

    expect_error(place.post(f"/submissions/{place.entry}/report", None, report), 401)
    for bad in (
        {"reason": "boring"},
        {"reason": "spam", "text": "x" * 2_001},
        {"reason": "spam", "text": "nul\u0000"},
        {},
        {"reason": "spam", "extra": 1},
    ):
        expect_error(place.post(f"/submissions/{place.entry}/report", other, bad), 422)
    unknown = "00000000-0000-4000-8000-000000000000"
    expect_error(place.post(f"/submissions/{unknown}/report", other, report), 404)
    elsewhere = create_competition(competitions, admin, "Elsewhere")
    misplaced = competitions.post(
        f"/competitions/{elsewhere}/comments/{place.comment}/report",
        json=report,
        headers=other.auth,
    )
    expect_error(misplaced, 404)

    listed = [r for r in open_reports(competitions, admin) if r["submission_id"] == place.entry]
    assert {(r["target_type"], r["reason"]) for r in listed} == {
        ("submission", "plagiarism"),
        ("comment", "abuse"),
    }
    assert len(listed) == 3
    entry_report = next(
        r for r in listed if r["reporter_id"] == reader.user_id and r["target_type"] == "submission"
    )
    assert (entry_report["excerpt"], entry_report["text"]) == ("Whose words?", report["text"])


def test_only_admins_see_reports_and_act(
    competitions: httpx.Client, place: Place, reader: Account, writer: Account
):
    report = place.post(f"/comments/{place.comment}/report", writer, {"reason": "abuse"}).json()
    reason = {"reason": "Not allowed"}
    for who in (reader, writer):
        for answer in (
            competitions.get("/moderation/reports", headers=who.auth),
            competitions.get("/moderation/actions", headers=who.auth),
            competitions.post(
                f"/moderation/reports/{report['report_id']}/dismiss", json=reason, headers=who.auth
            ),
            place.post(f"/comments/{place.comment}/hide", who, reason),
            place.post(f"/submissions/{place.entry}/disqualify", who, reason),
        ):
            assert expect_error(answer, 403)["code"] == "forbidden"
    expect_error(competitions.get("/moderation/reports"), 401)


def test_dismissing_closes_every_open_report_on_the_item_and_is_logged(
    users: httpx.Client, competitions: httpx.Client, admin: Account, place: Place, reader: Account
):
    second = sign_up(users, "second")
    first = place.post(f"/comments/{place.comment}/report", reader, {"reason": "spam"}).json()
    place.post(f"/comments/{place.comment}/report", second, {"reason": "other"})
    url = f"/moderation/reports/{first['report_id']}/dismiss"
    expect_error(competitions.post(url, json={"reason": ""}, headers=admin.auth), 422)
    dismissed = competitions.post(url, json={"reason": "Harmless"}, headers=admin.auth)
    assert dismissed.status_code == 200, dismissed.text
    action = dismissed.json()
    assert (action["action"], action["target_type"], action["target_id"]) == (
        "dismiss_reports",
        "report",
        first["report_id"],
    )
    assert not [r for r in open_reports(competitions, admin) if r["target_id"] == place.comment]
    closed = competitions.get("/moderation/reports?status=closed&limit=100", headers=admin.auth)
    mine = [r for r in closed.json()["items"] if r["target_id"] == place.comment]
    assert {r["closed_by_action"] for r in mine} == {action["action_id"]} and len(mine) == 2
    assert (
        expect_error(competitions.post(url, json={"reason": "Again"}, headers=admin.auth), 409)[
            "code"
        ]
        == "report_closed"
    )
    # A new report on the same item is a new open one.
    assert place.post(f"/comments/{place.comment}/report", reader, {"reason": "spam"}).is_success

    log = competitions.get("/moderation/actions?limit=5", headers=admin.auth).json()
    assert log["items"][0] == action
    assert set(action) == {
        "action_id",
        "action",
        "actor_id",
        "target_type",
        "target_id",
        "competition_id",
        "reason",
        "created_at",
    }
    assert action["actor_id"] == admin.user_id and action["reason"] == "Harmless"


def test_a_hidden_comment_shows_as_removed_and_its_author_sees_why(
    competitions: httpx.Client, admin: Account, place: Place, reader: Account, writer: Account
):
    place.post(
        f"/comment/{place.entry}", writer, {"content": "A reply", "parent_id": place.comment}
    )
    place.post(f"/comments/{place.comment}/report", writer, {"reason": "abuse"})
    hidden = place.post(f"/comments/{place.comment}/hide", admin, {"reason": "Insults"})
    assert hidden.status_code == 200, hidden.text
    assert expect_error(place.post(f"/comments/{place.comment}/hide", admin, {"reason": "x"}), 409)
    assert not [r for r in open_reports(competitions, admin) if r["target_id"] == place.comment]
    for who, reason in ((None, None), (writer, None), (reader, "Insults"), (admin, "Insults")):
        [thread] = place.entry_page(who)["comments"]
        assert (thread["removed"], thread["content"], thread["content_html"]) == (
            "moderator",
            "",
            "",
        )
        assert thread["removed_reason"] == reason
        assert thread["replies"][0]["content"] == "A reply"
    edit = competitions.patch(
        f"{place.url}/comments/{place.comment}", json={"content": "Sorry"}, headers=reader.auth
    )
    assert expect_error(edit, 409)["code"] == "removed"


def test_writers_edit_and_delete_their_own_comments(
    competitions: httpx.Client, place: Place, reader: Account, writer: Account
):
    url = f"{place.url}/comments/{place.comment}"
    assert (
        expect_error(
            competitions.patch(url, json={"content": "Mine now"}, headers=writer.auth), 403
        )["code"]
        == "forbidden"
    )
    expect_error(competitions.patch(url, json={"content": ""}, headers=reader.auth), 422)
    expect_error(competitions.patch(url, json={"content": "x" * 10_001}, headers=reader.auth), 422)
    edited = competitions.patch(url, json={"content": "*Kind* words"}, headers=reader.auth)
    assert edited.status_code == 200, edited.text
    [thread] = place.entry_page(None)["comments"]
    assert thread["content_html"] == "<p><em>Kind</em> words</p>\n"
    assert thread["edited_at"] is not None and thread["removed"] is None

    reply = place.post(
        f"/comment/{place.entry}", writer, {"content": "Thanks", "parent_id": place.comment}
    )
    assert expect_error(competitions.delete(url, headers=writer.auth), 403)
    assert competitions.delete(url, headers=reader.auth).status_code == 204
    [thread] = place.entry_page(None)["comments"]  # kept above its reply, emptied
    assert (thread["removed"], thread["author"], thread["content"]) == ("author", None, "")
    reply_url = f"{place.url}/comments/{reply.json()['comment_id']}"
    assert competitions.delete(reply_url, headers=writer.auth).status_code == 204
    assert place.entry_page(None)["comments"] == []  # nothing left to hang on them
    assert competitions.delete(url, headers=reader.auth).status_code == 204  # a replay


def test_a_disqualified_entry_leaves_lists_likes_and_results_and_its_author_is_told(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    ends = datetime.now(UTC) + timedelta(seconds=5)
    competition_id = create_competition(
        competitions,
        admin,
        "Cheated",
        starts_in=timedelta(seconds=-1),
        lasts=ends - datetime.now(UTC) + timedelta(seconds=1),
    )
    url = f"/competitions/{competition_id}"
    entries = {}
    for who, title in ((writer, "Copied"), (reader, "Honest")):
        entered = competitions.post(
            f"{url}/submit", json={"title": title, "content": "W"}, headers=who.auth
        )
        entries[title] = entered.json()["submission_id"]
    liked = competitions.post(f"{url}/like/{entries['Copied']}", headers=reader.auth)
    assert liked.status_code == 200
    competitions.post(
        f"{url}/submissions/{entries['Copied']}/report",
        json={"reason": "plagiarism"},
        headers=reader.auth,
    )

    out = competitions.post(
        f"{url}/submissions/{entries['Copied']}/disqualify",
        json={"reason": "Copied from a published story"},
        headers=admin.auth,
    )
    assert out.status_code == 200, out.text
    again = competitions.post(
        f"{url}/submissions/{entries['Copied']}/disqualify",
        json={"reason": "x"},
        headers=admin.auth,
    )
    assert expect_error(again, 409)["code"] == "already_disqualified"
    listed = competitions.get(f"{url}/submissions").json()
    assert [i["title"] for i in listed["items"]] == ["Honest"] and listed["total"] == 1
    gone = competitions.get(f"{url}/submissions/{entries['Copied']}", headers=reader.auth)
    assert expect_error(gone, 404)["code"] == "disqualified"
    own = competitions.get(f"{url}/submissions/{entries['Copied']}", headers=writer.auth).json()
    assert (own["disqualified_reason"], own["likes"]) == ("Copied from a published story", 0)
    relike = competitions.post(f"{url}/like/{entries['Copied']}", headers=reader.auth)
    assert expect_error(relike, 409)["code"] == "disqualified"
    notices = competitions.get("/notifications?limit=100", headers=writer.auth).json()["items"]
    [told] = [n for n in notices if n["type"] == "submission.disqualified"]
    assert told["data"]["reason"] == "Copied from a published story"
    assert not [r for r in open_reports(competitions, admin) if r["target_id"] == entries["Copied"]]

    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.5)
    results = competitions.get(f"{url}/results").json()["items"]
    assert [(r["title"], r["place"]) for r in results] == [("Honest", 1)]


def test_disqualifying_after_the_results_places_the_others_again(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    ends = datetime.now(UTC) + timedelta(seconds=4)
    competition_id = create_competition(
        competitions,
        admin,
        "Late finding",
        starts_in=timedelta(seconds=-1),
        lasts=ends - datetime.now(UTC) + timedelta(seconds=1),
    )
    url = f"/competitions/{competition_id}"
    winner = competitions.post(
        f"{url}/submit", json={"title": "Winner", "content": "W"}, headers=writer.auth
    ).json()
    competitions.post(
        f"{url}/submit", json={"title": "Second", "content": "W"}, headers=reader.auth
    )
    competitions.post(f"{url}/like/{winner['submission_id']}", headers=reader.auth)
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.5)
    before = competitions.get(f"{url}/results").json()["items"]
    assert [(r["title"], r["place"]) for r in before] == [("Winner", 1), ("Second", 2)]
    out = competitions.post(
        f"{url}/submissions/{winner['submission_id']}/disqualify",
        json={"reason": "Found plagiarised after the results"},
        headers=admin.auth,
    )
    assert out.status_code == 200, out.text
    after = competitions.get(f"{url}/results").json()["items"]
    assert [(r["title"], r["place"]) for r in after] == [("Second", 1)]
