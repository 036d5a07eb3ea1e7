"""Entries their writers control, through the gateway: edits and withdrawals while
entries are open, and private drafts that are never lost."""

import time
from datetime import timedelta

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, sign_up

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def enter(competitions: httpx.Client, competition_id: str, author: Account, **body: str) -> str:
    fields = {"title": "A story", "content": "Once upon a time.", **body}
    response = competitions.post(
        f"/competitions/{competition_id}/submit", json=fields, headers=author.auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["submission_id"])


CLOSES_IN = timedelta(seconds=3)


def entry_closing_soon(
    competitions: httpx.Client, admin: Account, writer: Account, title: str
) -> str:
    """The address of the writer's entry to a competition whose entries close in
    ``CLOSES_IN``."""
    competition_id = create_competition(
        competitions, admin, title, starts_in=timedelta(seconds=-1), lasts=CLOSES_IN
    )
    return (
        f"/competitions/{competition_id}/submissions/{enter(competitions, competition_id, writer)}"
    )


@pytest.fixture
def open_competition(competitions: httpx.Client, admin: Account) -> str:
    return create_competition(competitions, admin, "Editable")


def test_the_author_edits_an_entry_while_entries_are_open(
    competitions: httpx.Client, open_competition: str, writer: Account, reader: Account
):
    entry = enter(competitions, open_competition, writer)
    url = f"/competitions/{open_competition}/submissions/{entry}"
    assert competitions.get(url).json()["edited_at"] is None

    renamed = competitions.patch(url, json={"title": "A better title"}, headers=writer.auth)
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert (body["title"], body["content"]) == ("A better title", "Once upon a time.")
    assert body["edited_at"] is not None
    rewritten = competitions.patch(
        url, json={"content": "Twice upon a time.\n\n*The end.*"}, headers=writer.auth
    )
    assert rewritten.json()["content"] == "Twice upon a time.\n\n*The end.*"
    assert competitions.get(url).json()["title"] == "A better title"
    listed = competitions.get(f"/competitions/{open_competition}/submissions").json()["items"]
    assert [item["edited_at"] is not None for item in listed] == [True]

    expect_error(competitions.patch(url, json={"title": "Mine"}, headers=reader.auth), 403)
    expect_error(competitions.patch(url, json={"title": "Anyone"}), 401)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": None},
        {"content": None},
        {"title": ""},
        {"content": "   "},
        {"title": "x" * 201},
        {"content": "a\x00b"},
        {"author_id": UNKNOWN},
        {"likes": 99},
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(
    competitions: httpx.Client, open_competition: str, writer: Account, body: dict[str, object]
):
    entry = enter(competitions, open_competition, writer)
    url = f"/competitions/{open_competition}/submissions/{entry}"
    expect_error(competitions.patch(url, json=body, headers=writer.auth), 422)
    after = competitions.get(url).json()
    assert (after["title"], after["content"], after["edited_at"]) == (
        "A story",
        "Once upon a time.",
        None,
    )


def test_edits_and_withdrawals_of_unknown_entries_are_not_found(
    competitions: httpx.Client, admin: Account, open_competition: str, writer: Account
):
    entry = enter(competitions, open_competition, writer)
    other = create_competition(competitions, admin, "Elsewhere")
    for url in (
        f"/competitions/{open_competition}/submissions/{UNKNOWN}",
        f"/competitions/{other}/submissions/{entry}",  # not in this competition
    ):
        expect_error(competitions.patch(url, json={"title": "x"}, headers=writer.auth), 404)
        expect_error(competitions.delete(url, headers=writer.auth), 404)


def test_the_author_withdraws_an_entry_with_its_likes_and_comments(
    competitions: httpx.Client, open_competition: str, writer: Account, reader: Account
):
    entry = enter(competitions, open_competition, writer)
    base = f"/competitions/{open_competition}"
    assert competitions.post(f"{base}/like/{entry}", headers=reader.auth).status_code == 200
    said = competitions.post(f"{base}/comment/{entry}", json={"content": "Hm"}, headers=reader.auth)
    assert said.status_code == 201
    url = f"{base}/submissions/{entry}"

    expect_error(competitions.delete(url, headers=reader.auth), 403)
    withdrawn = competitions.delete(url, headers=writer.auth)
    assert (withdrawn.status_code, withdrawn.content) == (204, b"")
    expect_error(competitions.get(url), 404)
    expect_error(competitions.delete(url, headers=writer.auth), 404)  # a replay finds nothing
    assert competitions.get(f"{base}/submissions").json()["total"] == 0
    # The entry limit counts what is there: the writer may enter again.
    enter(competitions, open_competition, writer, title="Second thoughts")


def test_once_entries_close_an_entry_stays_as_it_was(
    competitions: httpx.Client, admin: Account, writer: Account
):
    url = entry_closing_soon(competitions, admin, writer, "Closing")
    time.sleep(CLOSES_IN.total_seconds())
    late = expect_error(competitions.patch(url, json={"title": "Late"}, headers=writer.auth), 409)
    assert late["code"] == "wrong_phase"
    assert "entries closed at" in str(late["message"])
    expect_error(competitions.delete(url, headers=writer.auth), 409)
    assert competitions.get(url).json()["title"] == "A story"


def test_an_edit_racing_the_end_lands_whole_or_not_at_all(
    competitions: httpx.Client, admin: Account, writer: Account
):
    url = entry_closing_soon(competitions, admin, writer, "Racing")
    last_acknowledged = "Once upon a time."
    for attempt in range(400):
        text = f"Version {attempt}. " * 50
        answer = competitions.patch(url, json={"content": text}, headers=writer.auth)
        if answer.status_code == 409:
            break
        assert answer.status_code == 200, answer.text
        last_acknowledged = text
        time.sleep(0.02)
    else:
        pytest.fail("entries never closed")
    assert competitions.get(url).json()["content"] == last_acknowledged


def test_a_draft_is_private_kept_as_typed_and_gone_once_submitted(
    competitions: httpx.Client, open_competition: str, writer: Account, reader: Account
):
    url = f"/competitions/{open_competition}/draft"
    expect_error(competitions.get(url, headers=writer.auth), 404)
    typed = {"title": "", "content": "Half a sentence, and  two spaces   "}
    saved = competitions.put(url, json=typed, headers=writer.auth)
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in typed} == typed
    assert saved.json()["competition_id"] == open_competition
    assert competitions.get(url, headers=writer.auth).json() == saved.json()
    expect_error(competitions.get(url, headers=reader.auth), 404)  # only its writer's
    expect_error(competitions.get(url), 401)

    longer = {"title": "Nearly", "content": "word " * 60_000}  # past any entry's limit
    assert competitions.put(url, json=longer, headers=writer.auth).status_code == 200
    assert competitions.get(url, headers=writer.auth).json()["content"] == longer["content"]

    enter(competitions, open_competition, writer)
    expect_error(competitions.get(url, headers=writer.auth), 404)


def test_drafts_are_forgotten_on_request_and_refused_when_odd(
    competitions: httpx.Client, open_competition: str, writer: Account
):
    url = f"/competitions/{open_competition}/draft"
    assert competitions.put(url, json={"content": "x"}, headers=writer.auth).status_code == 200
    assert competitions.delete(url, headers=writer.auth).status_code == 204
    expect_error(competitions.get(url, headers=writer.auth), 404)
    assert competitions.delete(url, headers=writer.auth).status_code == 204  # nothing to forget
    for body in ({"content": "a\x00b"}, {"title": 7}, {"content": None}, {"mood": "sad"}):
        expect_error(competitions.put(url, json=body, headers=writer.auth), 422)
    unknown = f"/competitions/{UNKNOWN}/draft"
    expect_error(competitions.put(unknown, json={"content": "x"}, headers=writer.auth), 404)
    huge = competitions.put(url, json={"content": "x" * 1_100_000}, headers=writer.auth)
    expect_error(huge, 413)


def test_a_draft_outlives_the_deadline_but_is_not_saved_after_it(
    users: httpx.Client, competitions: httpx.Client, admin: Account
):
    writer = sign_up(users, "drafter")
    lasts = timedelta(seconds=3)
    competition_id = create_competition(
        competitions, admin, "Deadline", starts_in=timedelta(seconds=-1), lasts=lasts
    )
    url = f"/competitions/{competition_id}/draft"
    kept = {"title": "Unfinished", "content": "It was a dark and"}
    assert competitions.put(url, json=kept, headers=writer.auth).status_code == 200
    time.sleep(lasts.total_seconds())
    late = competitions.put(url, json={"content": "stormy night"}, headers=writer.auth)
    assert expect_error(late, 409)["code"] == "wrong_phase"
    assert competitions.get(url, headers=writer.auth).json()["content"] == kept["content"]


def test_entries_and_edits_outside_the_word_limits_are_refused_naming_count_and_limit(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition_id = create_competition(competitions, admin, "Limited", word_min=3, word_max=5)
    url = f"/competitions/{competition_id}/submit"
    short = competitions.post(url, json={"title": "T", "content": "Two words"}, headers=writer.auth)
    assert expect_error(short, 422)["details"] == [
        {
            "location": "body.content",
            "message": "has 2 words; this competition takes at least 3",
            "type": "too_few_words",
            "count": 2,
            "limit": 3,
        }
    ]
    long = "One two three four five six, and *seven*."
    over = expect_error(
        competitions.post(url, json={"title": "T", "content": long}, headers=writer.auth), 422
    )
    assert [(d["type"], d["count"], d["limit"]) for d in over["details"]] == [
        ("too_many_words", 8, 5)
    ]
    entry = enter(competitions, competition_id, writer, content="Exactly five words here, friend.")
    edit_url = f"/competitions/{competition_id}/submissions/{entry}"
    refused = competitions.patch(edit_url, json={"content": long}, headers=writer.auth)
    assert expect_error(refused, 422)["details"][0]["count"] == 8
    kept = competitions.get(edit_url).json()
    assert (kept["content"], kept["word_count"]) == ("Exactly five words here, friend.", 5)
    at_the_floor = competitions.patch(
        edit_url, json={"content": "Just three words"}, headers=writer.auth
    )
    assert at_the_floor.status_code == 200 and at_the_floor.json()["word_count"] == 3
