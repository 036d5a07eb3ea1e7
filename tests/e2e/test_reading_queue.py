"""The reading queue through the gateway: each reader is offered the entries read least,
theirs left out, what they have opened already at the back, in an order of their own."""

from typing import Any

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, sign_up

Json = dict[str, Any]


class Contest:
    """A competition open for entries and likes, one entry per writer."""

    def __init__(self, competitions: httpx.Client, admin: Account, **fields: object) -> None:
        self.client = competitions
        self.id = create_competition(competitions, admin, "Queued", **fields)
        self.url = f"/competitions/{self.id}"

    def enter(self, writer: Account, title: str = "A story") -> str:
        answer = self.client.post(
            f"{self.url}/submit",
            json={"title": title, "content": "Once upon a time."},
            headers=writer.auth,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["submission_id"])

    def like(self, who: Account, entry: str) -> None:
        answer = self.client.post(f"{self.url}/like/{entry}", headers=who.auth)
        assert answer.status_code == 200, answer.text

    def open(self, who: Account | None, entry: str) -> Json:
        answer = self.client.get(f"{self.url}/submissions/{entry}", headers=who.auth if who else {})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def page(self, who: Account, limit: int = 100, offset: int = 0, sort: str = "queue") -> Json:
        answer = self.client.get(
            f"{self.url}/submissions",
            params={"sort": sort, "limit": limit, "offset": offset},
            headers=who.auth,
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def queue(self, who: Account) -> list[str]:
        return [item["submission_id"] for item in self.page(who)["items"]]


@pytest.fixture
def writers(users: httpx.Client) -> list[Account]:
    return [sign_up(users, "writer") for _ in range(6)]


def test_the_queue_leaves_out_your_own_and_puts_the_least_read_first(
    competitions: httpx.Client, admin: Account, writers: list[Account], reader: Account
):
    contest = Contest(competitions, admin)
    popular, liked, quiet, opened, mine_liked = (contest.enter(w) for w in writers[:5])
    mine = contest.enter(reader)
    for fan in writers[1:4]:
        contest.like(fan, popular)
    contest.like(writers[0], liked)
    contest.open(reader, opened)
    contest.like(reader, mine_liked)

    page = contest.page(reader)
    order = [item["submission_id"] for item in page["items"]]
    assert mine not in order and page["total"] == 5 and len(order) == 5
    assert order == [quiet, liked, popular, opened, mine_liked]
    assert [item["read_by_me"] for item in page["items"]] == [False, False, False, True, False]
    assert [item["likes"] for item in page["items"]] == [0, 1, 3, 0, 1]
    # The other lists say what the reader has opened too, and nothing without a token.
    newest = contest.page(reader, sort="new")
    assert {i["submission_id"] for i in newest["items"] if i["read_by_me"]} == {opened}
    anonymous = competitions.get(f"{contest.url}/submissions").json()
    assert not any(item["read_by_me"] for item in anonymous["items"])
    assert newest["total"] == 6


def test_an_opened_entry_moves_behind_the_unopened(
    competitions: httpx.Client, admin: Account, writers: list[Account], reader: Account
):
    contest = Contest(competitions, admin)
    for writer in writers[:4]:
        contest.enter(writer)
    first = contest.queue(reader)[0]
    contest.open(reader, first)
    after = contest.page(reader)
    assert after["items"][-1]["submission_id"] == first
    assert after["items"][-1]["read_by_me"] is True
    assert sum(item["read_by_me"] for item in after["items"]) == 1
    # A read is the reader's: nobody else's list marks it, and opening without a
    # token notes nothing.
    contest.open(None, first)
    assert not any(item["read_by_me"] for item in contest.page(writers[5])["items"])


def test_each_reader_has_an_order_of_their_own_stable_across_pages(
    competitions: httpx.Client,
    users: httpx.Client,
    admin: Account,
    writers: list[Account],
    reader: Account,
):
    contest = Contest(competitions, admin)
    entries = {contest.enter(writer) for writer in writers}
    whole = contest.queue(reader)
    others = [contest.queue(sign_up(users, "reader")) for _ in range(3)]
    assert set(whole) == entries
    # 6! orders: one of three other readers alike by chance: 1 in 240.
    assert any(order != whole for order in others)
    pages = [contest.page(reader, limit=4, offset=offset) for offset in (0, 4)]
    paged = [item["submission_id"] for page in pages for item in page["items"]]
    assert paged == whole and len(set(paged)) == 6
    assert [(p["total"], p["limit"], p["offset"]) for p in pages] == [(6, 4, 0), (6, 4, 4)]
    assert contest.queue(reader) == whole  # asked again: the same


def test_the_queue_is_each_readers_own_so_it_needs_a_token(
    competitions: httpx.Client, admin: Account, writer: Account
):
    contest = Contest(competitions, admin)
    contest.enter(writer)
    error = expect_error(competitions.get(f"{contest.url}/submissions?sort=queue"), 401)
    assert error["code"] == "unauthorized" and "token" in str(error["message"])
    bad = competitions.get(f"{contest.url}/submissions?sort=best", headers=writer.auth)
    expect_error(bad, 422)


def test_an_anonymous_competitions_queue_names_no_author_and_shows_no_likes(
    competitions: httpx.Client, admin: Account, writers: list[Account], reader: Account
):
    contest = Contest(competitions, admin, anonymous=True)
    entries = [contest.enter(writer) for writer in writers[:3]]
    contest.like(writers[3], entries[0])
    contest.open(reader, entries[1])
    page = contest.page(reader)
    assert page["total"] == 3
    assert [item["submission_id"] for item in page["items"]] == [entries[2], entries[0], entries[1]]
    for item in page["items"]:
        assert item["author"] is None and item["likes"] is None
        assert item["is_mine"] is False
    assert [item["read_by_me"] for item in page["items"]] == [False, False, True]
    # The author sees their entry's own page as theirs, and it is left out of their queue.
    assert entries[0] not in contest.queue(writers[0])
    assert contest.open(writers[0], entries[0])["is_mine"] is True
