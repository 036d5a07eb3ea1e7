"""The competitions API, walked as a client would, against real processes on PostgreSQL."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support import (
    Account,
    Platform,
    create_competition,
    expect_error,
    from_now,
    sign_up,
    ws_url,
)

UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def open_competition(competitions: httpx.Client, admin: Account) -> str:
    return create_competition(competitions, admin, "Open call")


def submit(
    competitions: httpx.Client,
    competition_id: str,
    author: Account,
    title: str = "A story",
    content: str = "Once upon a time.",
) -> str:
    response = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": title, "content": content},
        headers=author.auth,
    )
    assert response.status_code == 201, response.text
    assert response.json()["message"] == "Submission successful"
    return str(response.json()["submission_id"])


def test_admin_creates_a_competition(competitions: httpx.Client, admin: Account):
    response = competitions.post(
        "/competitions",
        json={
            "title": "Flash fiction",
            "description": "Under 500 words.",
            "start_date": "2030-01-01",
            "end_date": "2030-01-31T12:00:00",
        },
        headers=admin.auth,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Flash fiction"
    assert body["admin_id"] == admin.user_id
    assert body["start_date"] == "2030-01-01T00:00:00Z"
    assert body["end_date"] == "2030-01-31T12:00:00Z"
    assert body["max_entries_per_user"] == 1
    assert body["status"] == "upcoming"
    details = competitions.get(f"/competitions/{body['competition_id']}").json()
    assert {
        "competition_id",
        "title",
        "description",
        "admin_id",
        "start_date",
        "end_date",
        "created_at",
    } <= set(details)
    assert details == body


def test_only_admins_create_competitions(competitions: httpx.Client, writer: Account):
    body = {"title": "Mine", "start_date": from_now(hours=1), "end_date": from_now(hours=2)}
    expect_error(competitions.post("/competitions", json=body, headers=writer.auth), 403)
    expect_error(competitions.post("/competitions", json=body), 401)


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"end_date": "2020-01-01"},
        {"start_date": "yesterday"},
        {"max_entries_per_user": 0},
        {"unexpected": 1},
    ],
)
def test_competition_input_is_validated(
    competitions: httpx.Client, admin: Account, change: dict[str, object]
):
    body = {"title": "Fine", "start_date": "2030-01-01", "end_date": "2030-02-01", **change}
    expect_error(competitions.post("/competitions", json=body, headers=admin.auth), 422)


def test_lists_by_status(competitions: httpx.Client, admin: Account):
    active = create_competition(competitions, admin, "Now")
    upcoming = create_competition(competitions, admin, "Soon", starts_in=timedelta(days=3))

    def ids(query: str) -> list[str]:
        response = competitions.get(f"/competitions{query}")
        assert response.status_code == 200
        return [c["competition_id"] for c in response.json()]

    assert active in ids("")
    assert upcoming not in ids("")
    assert upcoming in ids("?status=upcoming")
    assert active not in ids("?status=upcoming")
    assert {active, upcoming} <= set(ids("?status=all"))
    listed = competitions.get("/competitions").json()
    mine = next(c for c in listed if c["competition_id"] == active)
    assert set(mine) >= {"competition_id", "title", "description", "start_date", "end_date"}
    expect_error(competitions.get("/competitions?status=someday"), 422)


def test_unknown_or_malformed_competitions_are_not_found(competitions: httpx.Client):
    expect_error(competitions.get(f"/competitions/{UNKNOWN}"), 404)
    expect_error(competitions.get("/competitions/42"), 404)
    expect_error(competitions.get(f"/competitions/{UNKNOWN}/submissions"), 404)
    expect_error(competitions.get("/nowhere"), 404)
    expect_error(competitions.put("/competitions"), 405)


def test_only_its_admin_edits_a_competition(
    platform, users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account
):
    from tests.support import log_in, unique

    competition_id = create_competition(competitions, admin, "Draft title")
    edited = competitions.patch(
        f"/competitions/{competition_id}",
        json={"title": "Final title", "max_entries_per_user": 3},
        headers=admin.auth,
    )
    assert edited.status_code == 200
    assert edited.json()["title"] == "Final title"
    assert edited.json()["max_entries_per_user"] == 3

    name = unique("admin2")
    platform.create_admin(f"{name}@example.com", name)
    other_admin = log_in(users, f"{name}@example.com", name)
    url = f"/competitions/{competition_id}"
    expect_error(competitions.patch(url, json={"title": "x"}, headers=other_admin.auth), 403)
    expect_error(competitions.patch(url, json={"title": "x"}, headers=writer.auth), 403)
    bad_dates = {"end_date": "2000-01-01"}
    expect_error(competitions.patch(url, json=bad_dates, headers=admin.auth), 422)


def test_entries_are_stored_verbatim(
    competitions: httpx.Client, open_competition: str, writer: Account
):
    content = "<script>alert('x')</script>\n\n  Twice  spaced.\tTabbed. «Ünïcödé» 🖋️\n"
    title = "  <b>Bold</b> title "
    submission_id = submit(competitions, open_competition, writer, title, content)
    entry = competitions.get(f"/competitions/{open_competition}/submissions/{submission_id}")
    assert entry.status_code == 200
    assert entry.json()["title"] == title
    assert entry.json()["content"] == content


def test_entry_rules(
    competitions: httpx.Client, admin: Account, open_competition: str, writer: Account
):
    url = f"/competitions/{open_competition}/submit"
    submit(competitions, open_competition, writer)
    second = competitions.post(url, json={"title": "b", "content": "b"}, headers=writer.auth)
    assert expect_error(second, 409)["code"] == "entry_limit_reached"

    for body in (
        {"title": "", "content": "c"},
        {"title": "x" * 201, "content": "c"},
        {"title": "t", "content": ""},
        {"title": "t", "content": "c" * 200_001},
        {"title": "t"},
    ):
        expect_error(competitions.post(url, json=body, headers=writer.auth), 422)
    expect_error(competitions.post(url, json={"title": "t", "content": "c"}), 401)

    later = create_competition(competitions, admin, "Later", starts_in=timedelta(days=1))
    early = competitions.post(
        f"/competitions/{later}/submit", json={"title": "t", "content": "c"}, headers=writer.auth
    )
    assert expect_error(early, 409)["code"] == "wrong_phase"


def test_max_entries_per_user(competitions: httpx.Client, admin: Account, writer: Account):
    competition_id = create_competition(competitions, admin, "Three", max_entries_per_user=3)
    for n in range(3):
        submit(competitions, competition_id, writer, f"Entry {n}")
    fourth = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "Four", "content": "c"},
        headers=writer.auth,
    )
    expect_error(fourth, 409)


def test_likes(competitions: httpx.Client, open_competition: str, writer: Account, reader: Account):
    submission_id = submit(competitions, open_competition, writer)
    url = f"/competitions/{open_competition}/like/{submission_id}"
    entry_url = f"/competitions/{open_competition}/submissions/{submission_id}"

    for _ in range(2):  # a second like changes nothing
        liked = competitions.post(url, headers=reader.auth)
        assert liked.status_code == 200
        assert liked.json() == {"message": "Like added"}
    entry = competitions.get(entry_url, headers=reader.auth).json()
    assert entry["likes"] == 1
    assert entry["liked_by_me"] is True
    assert competitions.get(entry_url).json()["liked_by_me"] is False

    assert expect_error(competitions.post(url, headers=writer.auth), 409)["code"] == (
        "own_submission"
    )
    expect_error(competitions.post(url), 401)

    unliked = competitions.delete(url, headers=reader.auth)
    assert unliked.status_code == 200
    assert competitions.get(entry_url).json()["likes"] == 0
    competitions.delete(url, headers=reader.auth)
    assert competitions.get(entry_url).json()["likes"] == 0


def test_entries_belong_to_their_competition(
    competitions: httpx.Client,
    admin: Account,
    open_competition: str,
    writer: Account,
    reader: Account,
):
    submission_id = submit(competitions, open_competition, writer)
    other = create_competition(competitions, admin, "Other")
    for response in (
        competitions.post(f"/competitions/{other}/like/{submission_id}", headers=reader.auth),
        competitions.post(
            f"/competitions/{other}/comment/{submission_id}",
            json={"content": "hi"},
            headers=reader.auth,
        ),
        competitions.get(f"/competitions/{other}/submissions/{submission_id}"),
        competitions.post(f"/competitions/{open_competition}/like/{UNKNOWN}", headers=reader.auth),
        competitions.post(f"/competitions/{open_competition}/like/zzz", headers=reader.auth),
    ):
        expect_error(response, 404)


def test_threaded_comments(
    competitions: httpx.Client, open_competition: str, writer: Account, reader: Account
):
    submission_id = submit(competitions, open_competition, writer)
    url = f"/competitions/{open_competition}/comment/{submission_id}"

    first = competitions.post(url, json={"content": "Lovely."}, headers=reader.auth)
    assert first.status_code == 201
    assert first.json()["message"] == "Comment added"
    parent_id = first.json()["comment_id"]
    reply = competitions.post(
        url, json={"content": "Thank you!", "parent_id": parent_id}, headers=writer.auth
    )
    assert reply.status_code == 201
    competitions.post(
        url,
        json={"content": "You're welcome.", "parent_id": reply.json()["comment_id"]},
        headers=reader.auth,
    )
    competitions.post(url, json={"content": "Second thread"}, headers=writer.auth)

    entry = competitions.get(f"/competitions/{open_competition}/submissions/{submission_id}")
    threads = entry.json()["comments"]
    assert [t["content"] for t in threads] == ["Lovely.", "Second thread"]
    assert threads[0]["author"] == {"user_id": reader.user_id, "username": reader.username}
    assert [r["content"] for r in threads[0]["replies"]] == ["Thank you!"]
    assert [r["content"] for r in threads[0]["replies"][0]["replies"]] == ["You're welcome."]

    elsewhere = submit(competitions, open_competition, reader)
    foreign = competitions.post(
        f"/competitions/{open_competition}/comment/{elsewhere}",
        json={"content": "wrong thread", "parent_id": parent_id},
        headers=writer.auth,
    )
    expect_error(foreign, 422)
    expect_error(competitions.post(url, json={"content": ""}, headers=reader.auth), 422)
    expect_error(competitions.post(url, json={"content": "hi"}), 401)


def test_submissions_newest_and_top_with_pages(
    users: httpx.Client, competitions: httpx.Client, admin: Account
):
    competition_id = create_competition(competitions, admin, "Ranked")
    authors = [sign_up(users, "ranked") for _ in range(3)]
    ids = [submit(competitions, competition_id, a, f"Entry {n}") for n, a in enumerate(authors)]
    # Entry 1 gets two likes, entry 2 one, entry 0 none.
    for liker, target in ((authors[0], ids[1]), (authors[2], ids[1]), (authors[0], ids[2])):
        competitions.post(f"/competitions/{competition_id}/like/{target}", headers=liker.auth)

    url = f"/competitions/{competition_id}/submissions"
    newest = competitions.get(url).json()
    assert [s["submission_id"] for s in newest["items"]] == ids[::-1]
    assert newest["total"] == 3
    top = competitions.get(f"{url}?sort=top").json()
    assert [s["submission_id"] for s in top["items"]] == [ids[1], ids[2], ids[0]]
    assert [s["likes"] for s in top["items"]] == [2, 1, 0]
    assert top["items"][0]["author"]["username"] == authors[1].username

    page = competitions.get(f"{url}?sort=top&limit=1&offset=1").json()
    assert [s["submission_id"] for s in page["items"]] == [ids[2]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    expect_error(competitions.get(f"{url}?limit=0"), 422)
    expect_error(competitions.get(f"{url}?sort=best"), 422)


def test_results_after_the_end(users: httpx.Client, competitions: httpx.Client, admin: Account):
    authors = [sign_up(users, "sprinter") for _ in range(3)]
    window = timedelta(seconds=4)
    competition_id = create_competition(
        competitions, admin, "Sprint", starts_in=timedelta(seconds=-1), lasts=window
    )
    ends = datetime.now(UTC) + window - timedelta(seconds=1)
    ids = [submit(competitions, competition_id, a) for a in authors]
    # ids[2] gets one like; ids[0] and ids[1] tie on zero and share 2nd (listed oldest first).
    competitions.post(f"/competitions/{competition_id}/like/{ids[2]}", headers=authors[0].auth)

    early = competitions.get(f"/competitions/{competition_id}/results")
    assert expect_error(early, 409)["code"] == "competition_not_finished"
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.5)

    late_like = competitions.post(
        f"/competitions/{competition_id}/like/{ids[0]}", headers=authors[1].auth
    )
    assert expect_error(late_like, 409)["code"] == "wrong_phase"
    results = competitions.get(f"/competitions/{competition_id}/results")
    assert results.status_code == 200
    page = results.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 100, 0)
    assert [(r["place"], r["tied"], r["submission_id"], r["likes"]) for r in page["items"]] == [
        (1, False, ids[2], 1),
        (2, True, ids[0], 0),
        (2, True, ids[1], 0),
    ]
    assert page["items"][0]["author_id"] == authors[2].user_id
    # A page cut inside a shared place still says it is shared.
    last = competitions.get(f"/competitions/{competition_id}/results?limit=1&offset=2").json()
    assert [(r["place"], r["tied"]) for r in last["items"]] == [(2, True)]
    assert set(page["items"][0]) == {
        "place",
        "tied",
        "submission_id",
        "title",
        "author_id",
        "likes",
        "score",
        "ballots",
    }
    assert (page["items"][0]["score"], page["items"][0]["ballots"]) == (1.0, None)
    notices = competitions.get("/notifications", headers=authors[1].auth).json()["items"]
    [placed] = [n["data"] for n in notices if n["type"] == "competition.placed"]
    assert (placed["place"], placed["tied"], placed["participants"]) == (2, True, 3)
    finished = competitions.get("/competitions?status=finished").json()
    assert competition_id in [c["competition_id"] for c in finished]
    edit = competitions.patch(
        f"/competitions/{competition_id}", json={"title": "x"}, headers=admin.auth
    )
    expect_error(edit, 409)


def test_long_reply_chains_nest_to_a_bounded_depth(
    competitions: httpx.Client, open_competition: str, writer: Account, reader: Account
):
    submission_id = submit(competitions, open_competition, writer)
    url = f"/competitions/{open_competition}/comment/{submission_id}"
    parent = None
    chain = []
    for n in range(12):
        speaker = reader if n % 2 == 0 else writer
        body = {"content": f"reply {n}", **({"parent_id": parent} if parent else {})}
        created = competitions.post(url, json=body, headers=speaker.auth)
        assert created.status_code == 201
        parent = created.json()["comment_id"]
        chain.append(parent)
    entry = competitions.get(f"/competitions/{open_competition}/submissions/{submission_id}")
    assert entry.status_code == 200
    level, depth = entry.json()["comments"], 0
    while level:
        depth += 1
        deepest = level
        level = level[-1]["replies"]
    assert depth == 8
    # The replies past the limit are listed at the last level, in order, each still
    # naming its real parent.
    assert [c["content"] for c in deepest] == [f"reply {n}" for n in range(7, 12)]
    assert [c["parent_id"] for c in deepest] == chain[6:11]


@pytest.mark.parametrize(
    "dates",
    [
        {"start_date": "0001-01-01T00:00:00+01:00", "end_date": "2030-01-01"},
        {"start_date": "2030-01-01", "end_date": "9999-12-31T23:00:00-05:00"},
        {"start_date": 1_700_000_000, "end_date": "2030-01-01"},
        {"start_date": "1969-12-31", "end_date": "2030-01-01"},
    ],
)
def test_dates_out_of_range_are_invalid(
    competitions: httpx.Client, admin: Account, dates: dict[str, object]
):
    body = {"title": "Out of range", **dates}
    expect_error(competitions.post("/competitions", json=body, headers=admin.auth), 422)


def test_text_postgresql_cannot_store_is_invalid_not_a_crash(
    competitions: httpx.Client, admin: Account, open_competition: str, writer: Account
):
    url = f"/competitions/{open_competition}/submit"
    for body in ({"title": "nul\x00", "content": "c"}, {"title": "t", "content": "a\x00b"}):
        expect_error(competitions.post(url, json=body, headers=writer.auth), 422)
    page = competitions.get(f"/competitions/{open_competition}/submissions?offset={2**63}")
    expect_error(page, 422)


def test_notice_ids_past_what_json_holds_exactly_are_invalid_not_a_crash(
    competitions: httpx.Client, writer: Account
):
    largest = 2**53 - 1  # notice ids stay within what a JSON number holds exactly
    for too_big in (largest + 1, 2**63 - 1, 2**63, 10**20):
        for answer in (
            competitions.get(f"/notifications?after={too_big}", headers=writer.auth),
            competitions.post("/notifications/read", json={"ids": [too_big]}, headers=writer.auth),
            competitions.post("/notifications/read", json={"up_to": too_big}, headers=writer.auth),
        ):
            expect_error(answer, 422)
    after = competitions.get(f"/notifications?after={largest}", headers=writer.auth)
    assert after.status_code == 200
    assert after.json()["items"] == []
    marked = competitions.post("/notifications/read", json={"up_to": largest}, headers=writer.auth)
    assert marked.json() == {"marked": 0, "unread": 0}


async def test_a_socket_resuming_after_an_impossible_id_is_refused_at_the_handshake(
    platform: Platform, writer: Account
):
    url = f"{ws_url(platform.url)}/ws?after={2**63}&token={writer.token}"
    with pytest.raises(InvalidStatus) as refused:  # refused at the handshake, before it is accepted
        await connect(url)
    assert refused.value.response.status_code == 400


def test_an_open_competition_keeps_its_start_and_ends_in_the_future(
    competitions: httpx.Client, admin: Account, open_competition: str
):
    url = f"/competitions/{open_competition}"
    moved = competitions.patch(url, json={"start_date": from_now(days=1)}, headers=admin.auth)
    expect_error(moved, 422)
    ended = competitions.patch(url, json={"end_date": from_now(minutes=-1)}, headers=admin.auth)
    expect_error(ended, 422)
    longer = competitions.patch(url, json={"end_date": from_now(days=30)}, headers=admin.auth)
    assert longer.status_code == 200
