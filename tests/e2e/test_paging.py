"""Lists the brief defines as bare arrays stay arrays, take ``limit``/``offset`` and tell
their total in ``X-Total-Count`` (through the gateway)."""

import random
import string

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, sign_up


def tag() -> str:
    return "page" + "".join(random.choices(string.ascii_lowercase, k=8))


def pages(
    client: httpx.Client, path: str, size: int, **params: object
) -> tuple[list[dict], set[str]]:
    """Every page of ``path`` by ``size``; the items and the totals the pages told."""
    items: list[dict] = []
    totals: set[str] = set()
    offset = 0
    while True:
        answer = client.get(path, params={**params, "limit": size, "offset": offset})
        assert answer.status_code == 200, answer.text
        totals.add(answer.headers["X-Total-Count"])
        page = answer.json()
        assert isinstance(page, list) and len(page) <= size
        items += page
        if len(page) < size:
            return items, totals
        offset += size


def test_competitions_page_by_limit_and_offset_with_the_total(
    competitions: httpx.Client, admin: Account
):
    label = tag()
    made = {create_competition(competitions, admin, f"Paged {n}", tags=[label]) for n in range(5)}
    items, totals = pages(competitions, "/competitions", 2, tag=label, status="all")
    assert [c["competition_id"] for c in items if c["competition_id"] in made] == [
        c["competition_id"] for c in items
    ]
    assert {c["competition_id"] for c in items} == made and len(items) == 5
    assert totals == {"5"}
    beyond = competitions.get("/competitions", params={"tag": label, "offset": 10})
    assert beyond.json() == [] and beyond.headers["X-Total-Count"] == "5"


def test_my_subscriptions_and_submissions_page_with_the_total(
    competitions: httpx.Client, users: httpx.Client, admin: Account
):
    writer = sign_up(users, "pager")
    ids = [create_competition(competitions, admin, f"Followed {n}") for n in range(3)]
    for competition_id in ids:
        assert (
            users.post(f"/users/subscribe/{competition_id}", headers=writer.auth).status_code == 200
        )
        entered = competitions.post(
            f"/competitions/{competition_id}/submit",
            json={"title": "Mine", "content": "Words."},
            headers=writer.auth,
        )
        assert entered.status_code == 201, entered.text
    with httpx.Client(base_url=str(users.base_url), headers=writer.auth, timeout=10) as mine:
        followed, totals = pages(mine, "/users/profile/subscriptions", 2)
        assert [c["competition_id"] for c in followed] == ids[::-1] and totals == {"3"}
        entries, totals = pages(mine, "/users/profile/submissions", 2)
        assert {e["competition_id"] for e in entries} == set(ids) and totals == {"3"}


@pytest.mark.parametrize(
    "path", ["/competitions", "/users/profile/subscriptions", "/users/profile/submissions"]
)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**7}, "offset"),
    ],
)
def test_bad_paging_is_422(
    competitions: httpx.Client, writer: Account, path: str, params: dict, field: str
):
    error = expect_error(competitions.get(path, params=params, headers=writer.auth), 422)
    assert field in str(error["details"])
