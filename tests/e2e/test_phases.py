"""A competition's phases and terms through the gateway: an optional voting phase
between entries and results, and the prompt, rules, tags and limits writers read."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, from_now, iso, sign_up


def wait_until_past(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)


def post(client: httpx.Client, url: str, who: Account, body: object = None) -> httpx.Response:
    return client.post(url, json=body, headers=who.auth)


def test_a_voting_phase_closes_entries_then_opens_likes_until_the_results(
    users: httpx.Client, competitions: httpx.Client, admin: Account
):
    writers = [sign_up(users, "phased") for _ in range(2)]
    start = datetime.now(UTC) - timedelta(seconds=1)
    end, voting_end = start + timedelta(seconds=5), start + timedelta(seconds=9)
    competition_id = create_competition(
        competitions,
        admin,
        "Phased",
        starts_in=timedelta(seconds=-1),
        lasts=end - start,
        voting_end_date=iso(voting_end),
    )
    url = f"/competitions/{competition_id}"
    entries = []
    for writer in writers:
        entered = post(competitions, f"{url}/submit", writer, {"title": "T", "content": "Words."})
        assert entered.status_code == 201, entered.text
        entries.append(entered.json()["submission_id"])

    # Open for entries: comments yes, likes not yet.
    early_like = expect_error(post(competitions, f"{url}/like/{entries[0]}", writers[1]), 409)
    assert early_like["code"] == "wrong_phase"
    assert "likes open when voting starts" in str(early_like["message"])
    end_date = competitions.get(url).json()["end_date"]
    assert early_like["details"] == {"status": "open", "changes_at": end_date}
    comment = post(competitions, f"{url}/comment/{entries[0]}", writers[1], {"content": "Nice"})
    assert comment.status_code == 201

    wait_until_past(end)
    assert competitions.get(url).json()["status"] == "voting"
    voting = [c["competition_id"] for c in competitions.get("/competitions?status=voting").json()]
    active = [c["competition_id"] for c in competitions.get("/competitions").json()]
    assert competition_id in voting and competition_id not in active
    late_comer = sign_up(users, "late")
    late = post(competitions, f"{url}/submit", late_comer, {"title": "T", "content": "W"})
    assert expect_error(late, 409)["details"]["status"] == "voting"
    # Not finished yet: it can still be followed, and the users service knows its phases.
    assert users.post(f"/users/subscribe/{competition_id}", headers=late_comer.auth).is_success
    [followed] = users.get("/users/profile/subscriptions", headers=late_comer.auth).json()
    assert followed["voting_end_date"] == competitions.get(url).json()["voting_end_date"]
    assert post(competitions, f"{url}/like/{entries[0]}", writers[1]).status_code == 200
    not_yet = expect_error(competitions.get(f"{url}/results"), 409)
    assert not_yet["code"] == "competition_not_finished"

    wait_until_past(voting_end)
    results = competitions.get(f"{url}/results")
    assert results.status_code == 200, results.text
    first = results.json()["items"][0]
    assert (first["submission_id"], first["likes"]) == (entries[0], 1)
    after = post(competitions, f"{url}/like/{entries[1]}", writers[0])
    assert expect_error(after, 409)["details"] == {"status": "finished", "changes_at": None}
    # Comments stay open after the results by default: when writers most want feedback.
    thanks = post(competitions, f"{url}/comment/{entries[0]}", writers[0], {"content": "Thanks"})
    assert thanks.status_code == 201
    finished = [
        c["competition_id"] for c in competitions.get("/competitions?status=finished").json()
    ]
    assert competition_id in finished


def test_comments_close_with_the_results_when_the_admin_says_so(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    lasts = timedelta(seconds=3)
    competition_id = create_competition(
        competitions,
        admin,
        "Quiet after",
        starts_in=timedelta(seconds=-1),
        lasts=lasts,
        comments_after_results=False,
    )
    url = f"/competitions/{competition_id}"
    entry = post(competitions, f"{url}/submit", writer, {"title": "T", "content": "W"}).json()
    wait_until_past(datetime.now(UTC) + lasts - timedelta(seconds=1))
    closed = post(competitions, f"{url}/comment/{entry['submission_id']}", reader, {"content": "x"})
    assert "comments are closed" in str(expect_error(closed, 409)["message"])


def test_terms_are_stored_and_shown(competitions: httpx.Client, admin: Account):
    terms = {
        "prompt": "A door that should not open.",
        "rules": "One entry each. *Original* work only.",
        "tags": ["Horror ", "horror", "Flash", "ÉCRITURE"],
        "word_min": 100,
        "word_max": 1000,
        "comments_after_results": False,
        "voting_end_date": from_now(days=9),
    }
    competition_id = create_competition(competitions, admin, "Termed", **terms)
    details = competitions.get(f"/competitions/{competition_id}").json()
    assert details["tags"] == ["horror", "flash", "écriture"]  # case-folded, once each
    assert {k: details[k] for k in ("prompt", "rules", "word_min", "word_max")} == {
        k: terms[k] for k in ("prompt", "rules", "word_min", "word_max")
    }
    assert details["comments_after_results"] is False
    assert details["voting_end_date"] is not None
    listed = {c["competition_id"]: c for c in competitions.get("/competitions").json()}
    summary = listed[competition_id]
    assert (summary["tags"], summary["word_min"], summary["word_max"]) == (
        ["horror", "flash", "écriture"],
        100,
        1000,
    )
    assert "rules" not in summary  # lists stay light; details carry the long texts

    url = f"/competitions/{competition_id}"
    cleared = competitions.patch(
        url, json={"word_max": None, "voting_end_date": None}, headers=admin.auth
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["word_max"], cleared.json()["voting_end_date"]) == (None, None)
    assert cleared.json()["word_min"] == 100  # untouched: not sent


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"tags": ["x" * 33]}, "tags.0"),
        ({"tags": ["ß" * 17]}, "tags.0"),  # 34 characters once case-folded
        ({"tags": ["   "]}, "tags.0"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": "horror"}, "tags"),
        ({"tags": ["a\x00b"]}, "tags.0"),
        ({"prompt": "p" * 2001}, "prompt"),
        ({"rules": "r" * 10_001}, "rules"),
        ({"word_min": 0}, "word_min"),
        ({"word_max": 100_001}, "word_max"),
        ({"word_min": 500, "word_max": 100}, ""),  # the body as a whole
        ({"word_min": "many"}, "word_min"),
        ({"comments_after_results": "sometimes"}, "comments_after_results"),
        ({"voting_end_date": "soon"}, "voting_end_date"),
    ],
)
def test_bad_terms_are_refused_with_the_field_named(
    competitions: httpx.Client, admin: Account, fields: dict[str, object], where: str
):
    body = {"title": "Bad", "start_date": from_now(days=1), "end_date": from_now(days=2), **fields}
    error = expect_error(competitions.post("/competitions", json=body, headers=admin.auth), 422)
    assert any(d["location"].startswith(f"body.{where}".rstrip(".")) for d in error["details"]), (
        error
    )


def test_voting_must_end_after_entries_close(competitions: httpx.Client, admin: Account):
    body = {
        "title": "Backwards",
        "start_date": from_now(days=1),
        "end_date": from_now(days=3),
        "voting_end_date": from_now(days=2),
    }
    error = expect_error(competitions.post("/competitions", json=body, headers=admin.auth), 422)
    assert "voting_end_date must be after end_date" in str(error)


def test_an_edit_keeps_terms_consistent_and_refuses_null_where_a_value_is_needed(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition_id = create_competition(competitions, admin, "Edited", word_max=500)
    url = f"/competitions/{competition_id}"
    too_many = competitions.patch(url, json={"word_min": 501}, headers=admin.auth)
    assert "word_min must not be more than word_max" in str(expect_error(too_many, 422))
    for field in ("title", "start_date", "tags", "comments_after_results"):
        nulled = competitions.patch(url, json={field: None}, headers=admin.auth)
        assert f"{field} cannot be null" in str(expect_error(nulled, 422))
    voting_before_end = competitions.patch(
        url, json={"voting_end_date": from_now(hours=1)}, headers=admin.auth
    )
    expect_error(voting_before_end, 422)
    not_theirs = competitions.patch(url, json={"prompt": "mine now"}, headers=writer.auth)
    expect_error(not_theirs, 403)
    added = competitions.patch(url, json={"voting_end_date": from_now(days=5)}, headers=admin.auth)
    assert added.status_code == 200 and added.json()["voting_end_date"] is not None
