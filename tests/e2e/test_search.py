"""``GET /search`` through the gateway, on PostgreSQL (full-text search) and on SQLite
(FTS5), with the same assertions: both answer the same."""

import random
import string
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    Account,
    Platform,
    create_competition,
    expect_error,
    log_in,
    sign_up,
    unique,
)

Json = dict[str, Any]


def word() -> str:
    """A made-up word no other test writes (letters only: both stemmers keep it whole)."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    if request.param == "postgresql":
        yield request.getfixturevalue("platform")
        return
    running = Platform.create(tmp_path_factory.mktemp("search_sqlite"))  # SQLite: the default
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(site: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def boss(site: Platform, client: httpx.Client) -> Account:
    username = unique("admin")
    site.create_admin(f"{username}@example.com", username)
    return log_in(client, f"{username}@example.com", username)


def search(client: httpx.Client, q: str, kind: str, **params: object) -> Json:
    answer = client.get("/search", params={"q": q, "type": kind, **params})
    assert answer.status_code == 200, answer.text
    body: Json = answer.json()
    assert set(body) == {"items", "total", "total_exact", "limit", "offset"}
    return body


def submit(
    client: httpx.Client, who: Account, competition_id: str, title: str, content: str
) -> str:
    answer = client.post(
        f"/competitions/{competition_id}/submit",
        json={"title": title, "content": content},
        headers=who.auth,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["submission_id"])


def test_competitions_are_found_by_title_before_prompt_tags_and_description(
    client: httpx.Client, boss: Account
):
    key = word()
    in_description = create_competition(client, boss, "Lakes", description=f"About {key} lakes")
    in_title = create_competition(client, boss, f"The {key} prize")
    in_tags = create_competition(client, boss, "Tagged", tags=[key])
    found = search(client, key, "competitions")
    assert [item["id"] for item in found["items"]] == [in_title, in_tags, in_description]
    assert found["total"] == 3 and found["total_exact"]
    first = found["items"][0]
    assert first["type"] == "competitions" and first["title"] == f"The {key} prize"
    assert first["status"] == "open"
    assert f"<mark>{key}</mark>" in found["items"][2]["snippet"]


def test_entries_are_found_by_text_with_safe_snippets(client: httpx.Client, boss: Account):
    key = word()
    competition = create_competition(client, boss, "Night stories")
    writer = sign_up(client, "writer")
    entry = submit(
        client,
        writer,
        competition,
        "Lantern",
        f"The keeper <script>alert(1)</script> lit the {key} & waited <b>long</b>.",
    )
    found = search(client, key, "entries")
    assert found["total"] == 1
    (item,) = found["items"]
    assert item["id"] == entry and item["competition_id"] == competition
    assert item["title"] == "Lantern"
    assert item["author"] == {"user_id": writer.user_id, "username": writer.username}
    snippet = item["snippet"]
    assert f"<mark>{key}</mark>" in snippet
    assert "<script" not in snippet and "<b>" not in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_title_matches_rank_first_and_pages_hold_together(client: httpx.Client, boss: Account):
    key = word()
    competition = create_competition(client, boss, "Many", max_entries_per_user=10)
    writer = sign_up(client, "writer")
    in_text = [
        submit(client, writer, competition, f"Story {n}", f"{key} story {n}") for n in range(4)
    ]
    in_title = submit(client, writer, competition, f"The {key}", "nothing else")
    first = search(client, key, "entries", limit=2)
    assert first["items"][0]["id"] == in_title
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    rest = search(client, key, "entries", limit=2, offset=2)["items"]
    last = search(client, key, "entries", limit=2, offset=4)["items"]
    seen = [i["id"] for i in first["items"] + rest + last]
    assert sorted(seen) == sorted([in_title, *in_text])
    beyond = search(client, key, "entries", offset=10)
    assert beyond["items"] == [] and beyond["total"] == 5


def test_anonymous_entries_are_found_by_text_but_not_by_their_writer(
    client: httpx.Client, boss: Account
):
    key = word()
    competition = create_competition(client, boss, "Masked", anonymous=True)
    writer = sign_up(client, "masked")
    entry = submit(client, writer, competition, "Veiled", f"A {key} in the fog")
    (item,) = search(client, key, "entries")["items"]
    assert item["id"] == entry and item["author"] is None
    mine = client.get("/search", params={"q": key, "type": "entries"}, headers=writer.auth)
    assert mine.json()["items"][0]["author"]["user_id"] == writer.user_id
    assert search(client, writer.username, "entries")["items"] == []


def test_disqualified_entries_are_not_found(client: httpx.Client, boss: Account):
    key = word()
    competition = create_competition(client, boss, "Fair play")
    writer = sign_up(client, "cheat")
    entry = submit(client, writer, competition, "Copied", f"{key} taken from elsewhere")
    assert search(client, key, "entries")["total"] == 1
    answer = client.post(
        f"/competitions/{competition}/submissions/{entry}/disqualify",
        json={"reason": "plagiarism"},
        headers=boss.auth,
    )
    assert answer.status_code == 200, answer.text
    assert search(client, key, "entries") | {"items": []} == {
        "items": [],
        "total": 0,
        "total_exact": True,
        "limit": 20,
        "offset": 0,
    }


def test_edits_and_withdrawals_reach_the_search(client: httpx.Client, boss: Account):
    old, new = word(), word()
    competition = create_competition(client, boss, "Drafty")
    writer = sign_up(client, "editor")
    entry = submit(client, writer, competition, "Draft", f"{old} words")
    edited = client.patch(
        f"/competitions/{competition}/submissions/{entry}",
        json={"content": f"{new} words"},
        headers=writer.auth,
    )
    assert edited.status_code == 200, edited.text
    assert search(client, old, "entries")["total"] == 0
    assert search(client, new, "entries")["total"] == 1
    gone = client.delete(f"/competitions/{competition}/submissions/{entry}", headers=writer.auth)
    assert gone.status_code == 204
    assert search(client, new, "entries")["total"] == 0


def test_writers_are_found_by_username_and_bio(client: httpx.Client):
    key = word()
    by_bio = sign_up(client, "poet")
    answer = client.patch(
        "/users/profile", json={"bio": f"I write <i>{key}</i> sonnets"}, headers=by_bio.auth
    )
    assert answer.status_code == 200, answer.text
    found = search(client, key, "writers")
    assert found["total"] == 1
    (item,) = found["items"]
    assert (item["type"], item["id"], item["title"]) == ("writers", by_bio.user_id, by_bio.username)
    assert f"<mark>{key}</mark>" in item["snippet"] and "<i>" not in item["snippet"]
    by_name = search(client, by_bio.username, "writers")["items"]
    assert [i["id"] for i in by_name] == [by_bio.user_id]


def test_search_syntax_phrases_exclusions_and_alternatives(client: httpx.Client, boss: Account):
    a, b, c = word(), word(), word()
    competition = create_competition(client, boss, "Syntax", max_entries_per_user=10)
    writer = sign_up(client, "syntax")
    both = submit(client, writer, competition, "Both", f"{a} {b}")
    only_a = submit(client, writer, competition, "Only a", f"{a} then {c}")
    reversed_ = submit(client, writer, competition, "Reversed", f"{b} {a}")

    def ids(q: str) -> set[str]:
        return {item["id"] for item in search(client, q, "entries")["items"]}

    assert ids(f"{a} {b}") == {both, reversed_}
    assert ids(f'"{a} {b}"') == {both}
    assert ids(f"{a} -{b}") == {only_a}
    assert ids(f"{b} or {c}") == {both, only_a, reversed_}


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"""',
        "-",
        "or",
        "OR or AND NOT",
        "a & b | !c",
        "((( )))",
        "*",
        "NEAR(a b)",
        "col:word",
        "^start",
        "😀 🇫🇷 ‮right-to-left‬",
        "ß\u0301\u200b\ufeff",
        "\ue000 marker \ue001",
        "'; DROP TABLE submissions; --",
        "a" * 200,
        "-a -b",
        "x " * 100,
    ],
)
def test_odd_searches_answer_and_never_fail(client: httpx.Client, q: str):
    for kind in ("competitions", "entries", "writers"):
        found = search(client, q, kind)
        for item in found["items"]:
            assert "\ue000" not in item["snippet"] and "\ue001" not in item["snippet"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   \t\n"}, "q"),
        ({"q": "a" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "a", "type": "comments"}, "type"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "limit": 51}, "limit"),
        ({"q": "a", "offset": -1}, "offset"),
        ({"q": "a", "offset": 1001}, "offset"),
        ({"q": "a", "limit": "many"}, "limit"),
    ],
)
def test_bad_searches_are_422_with_the_field(client: httpx.Client, params: Json, field: str):
    error = expect_error(client.get("/search", params=params), 422)
    assert field in str(error["details"])


def test_competitions_filter_by_tag_whatever_its_case(client: httpx.Client, boss: Account):
    tag = word()
    tagged = create_competition(client, boss, "Tagged", tags=[tag.upper(), "other"])
    create_competition(client, boss, "Untagged", tags=["other"])
    upcoming = create_competition(client, boss, "Later", tags=[tag], starts_in=timedelta(days=1))
    for asked in (tag, tag.upper(), f"  {tag.capitalize()} "):
        answer = client.get("/competitions", params={"tag": asked})
        assert answer.status_code == 200, answer.text
        assert [c["competition_id"] for c in answer.json()] == [tagged]
    everything = client.get("/competitions", params={"tag": tag, "status": "all"}).json()
    assert {c["competition_id"] for c in everything} == {tagged, upcoming}
    assert client.get("/competitions", params={"tag": word()}).json() == []


@pytest.mark.parametrize("tag", ["", "   ", "x" * 33, "a\x00"])
def test_bad_tags_are_422(client: httpx.Client, tag: str):
    error = expect_error(client.get("/competitions", params={"tag": tag}), 422)
    assert "tag" in str(error["details"])


def test_a_tag_that_folds_longer_than_a_tag_finds_nothing(client: httpx.Client):
    answer = client.get("/competitions", params={"tag": "ß" * 32})  # "ss" * 32 once folded
    assert answer.status_code == 200 and answer.json() == []
