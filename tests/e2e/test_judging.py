"""Judging modes through the gateway: judges who score, readers who rank, and the
places those make, with every rule tried by the wrong person and in the wrong phase."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import Account, create_competition, expect_error, iso, sign_up

Json = dict[str, Any]


class Voted:
    """A competition open for entries a few seconds, then voting a few seconds."""

    def __init__(
        self, competitions: httpx.Client, admin: Account, judging: str, **fields: object
    ) -> None:
        self.client = competitions
        self.admin = admin
        start = datetime.now(UTC) - timedelta(seconds=1)
        self.end = start + timedelta(seconds=6)
        self.results_at = self.end + timedelta(seconds=5)
        self.id = create_competition(
            competitions,
            admin,
            f"Judged by {judging}",
            starts_in=timedelta(seconds=-1),
            lasts=self.end - start,
            voting_end_date=iso(self.results_at),
            judging=judging,
            max_entries_per_user=3,
            **fields,
        )
        self.url = f"/competitions/{self.id}"

    def enter(self, who: Account, title: str) -> str:
        entered = self.put_or_post("POST", "/submit", who, {"title": title, "content": "Words."})
        assert entered.status_code == 201, entered.text
        return str(entered.json()["submission_id"])

    def put_or_post(
        self, method: str, path: str, who: Account | None, body: object = None
    ) -> httpx.Response:
        headers = who.auth if who else {}
        return self.client.request(method, f"{self.url}{path}", json=body, headers=headers)

    def put(self, path: str, who: Account | None, body: object) -> httpx.Response:
        return self.put_or_post("PUT", path, who, body)

    def wait_for(self, moment: datetime) -> None:
        time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)

    def results(self) -> list[Json]:
        answer = self.client.get(f"{self.url}/results")
        assert answer.status_code == 200, answer.text
        rows: list[Json] = answer.json()["items"]
        return rows


@pytest.fixture
def people(users: httpx.Client) -> list[Account]:
    return [sign_up(users, "juror") for _ in range(5)]


def test_judges_score_and_the_best_mean_wins(
    competitions: httpx.Client, admin: Account, people: list[Account], reader: Account
):
    first, second, judge_a, judge_b, outsider = people
    contest = Voted(competitions, admin, "judges")
    entries = {title: contest.enter(who, title) for who, title in ((first, "A"), (second, "B"))}
    entries["C"] = contest.enter(second, "C")

    # Naming judges: its admin only, known users only, never a writer with an entry.
    judges = {"user_ids": [judge_a.user_id, judge_b.user_id]}
    assert expect_error(contest.put("/judges", reader, judges), 403)["code"] == "forbidden"
    unknown = contest.put("/judges", admin, {"user_ids": [str(uuid.uuid4())]})
    assert expect_error(unknown, 422)["details"][0]["type"] == "not_found"  # type: ignore[index]
    expect_error(contest.put("/judges", admin, {"user_ids": [judge_a.user_id] * 2}), 422)
    writer_judge = contest.put("/judges", admin, {"user_ids": [first.user_id]})
    refused = expect_error(writer_judge, 409)
    assert (refused["code"], refused["details"]) == (
        "judge_has_entry",
        {"user_ids": [first.user_id]},
    )
    named = contest.put("/judges", admin, judges)
    assert named.status_code == 200, named.text
    assert named.json() == {"user_ids": sorted(judges["user_ids"])}
    assert competitions.get(f"{contest.url}/judges").json() == named.json()

    # A judge cannot enter; nobody scores before voting opens.
    entering = contest.put_or_post("POST", "/submit", judge_a, {"title": "T", "content": "W"})
    assert expect_error(entering, 403)["code"] == "judge"
    early = contest.put(f"/scores/{entries['A']}", judge_a, {"score": 5})
    assert expect_error(early, 409)["code"] == "wrong_phase"

    contest.wait_for(contest.end)
    for bad in ({"score": 0}, {"score": 11}, {"score": 5.5}, {"score": None}, {}):
        expect_error(contest.put(f"/scores/{entries['A']}", judge_a, bad), 422)
    not_judge = contest.put(f"/scores/{entries['A']}", outsider, {"score": 10})
    assert expect_error(not_judge, 403)["code"] == "not_a_judge"
    expect_error(contest.put(f"/scores/{uuid.uuid4()}", judge_a, {"score": 5}), 404)
    for judge, marks in ((judge_a, {"A": 9, "B": 6, "C": 3}), (judge_b, {"A": 7, "B": 8, "C": 3})):
        for title, mark in marks.items():
            given = contest.put(f"/scores/{entries[title]}", judge, {"score": mark})
            assert given.status_code == 200, given.text
    # A judge changes their mind: the new score replaces the old.
    assert contest.put(f"/scores/{entries['C']}", judge_a, {"score": 4}).json()["score"] == 4
    mine = competitions.get(f"{contest.url}/scores", headers=judge_a.auth).json()["items"]
    assert {row["submission_id"]: row["score"] for row in mine} == {
        entries["A"]: 9,
        entries["B"]: 6,
        entries["C"]: 4,
    }
    # Likes still work but are hidden until the results, and decide nothing.
    assert contest.put_or_post("POST", f"/like/{entries['C']}", reader).status_code == 200
    listed = competitions.get(f"{contest.url}/submissions").json()["items"]
    assert {item["likes"] for item in listed} == {None}

    contest.wait_for(contest.results_at)
    rows = contest.results()
    assert [(r["title"], r["place"], r["score"], r["likes"], r["ballots"]) for r in rows] == [
        ("A", 1, 8.0, 0, None),
        ("B", 2, 7.0, 0, None),
        ("C", 3, 3.5, 1, None),
    ]
    late = contest.put(f"/scores/{entries['A']}", judge_a, {"score": 1})
    assert expect_error(late, 409)["code"] == "wrong_phase"


def test_ranked_ballots_place_by_bradley_terry(
    competitions: httpx.Client, admin: Account, people: list[Account]
):
    writers = people[:4]
    contest = Voted(competitions, admin, "ranked")
    entries = [contest.enter(who, title) for who, title in zip(writers, "WXYZ", strict=True)]
    w, x, y, z = entries
    voter = people[4]

    early = contest.put("/ballot", voter, {"submission_ids": [w, x, y]})
    assert expect_error(early, 409)["code"] == "wrong_phase"
    contest.wait_for(contest.end)
    refusals = {
        "too_short": [w, x],
        "duplicate": [w, x, w],
        "own_entry": [w, x, y],  # writers[0] wrote W
        "unknown_entry": [x, y, str(uuid.uuid4())],
    }
    for kind, ballot in refusals.items():
        answer = contest.put("/ballot", writers[0], {"submission_ids": ballot})
        problem = expect_error(answer, 422)
        if kind != "too_short":  # the schema's minimum answers that one
            assert problem["details"][0]["type"] == kind  # type: ignore[index]
    expect_error(contest.put("/ballot", None, {"submission_ids": [w, x, y]}), 401)

    assert competitions.get(f"{contest.url}/ballot", headers=voter.auth).json() == {
        "submission_ids": [],
        "cast_at": None,
    }
    ballots = [
        (voter, [w, x, y, z]),
        (writers[0], [x, y, z]),
        (writers[1], [w, y, z]),
        (writers[2], [w, x, z]),
        (writers[3], [y, x, w]),  # changed below: only the last ballot counts
    ]
    for who, ballot in ballots:
        cast = contest.put("/ballot", who, {"submission_ids": ballot})
        assert cast.status_code == 200, cast.text
    recast = contest.put("/ballot", writers[3], {"submission_ids": [w, x, y]})
    assert recast.json()["submission_ids"] == [w, x, y]
    mine = competitions.get(f"{contest.url}/ballot", headers=writers[3].auth).json()
    assert mine["submission_ids"] == [w, x, y] and mine["cast_at"] is not None

    contest.wait_for(contest.results_at)
    rows = contest.results()
    assert [r["title"] for r in rows] == ["W", "X", "Y", "Z"]
    assert [r["ballots"] for r in rows] == [4, 4, 4, 4]
    assert rows[0]["score"] > 1 > rows[-1]["score"]
    assert [r["place"] for r in rows] == [1, 2, 3, 4]


def test_ballots_and_scores_need_their_mode_and_judging_is_fixed_once_voting_starts(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    liked = create_competition(competitions, admin, "Liked")
    url = f"/competitions/{liked}"
    entry = competitions.post(
        f"{url}/submit", json={"title": "T", "content": "W"}, headers=writer.auth
    ).json()["submission_id"]
    ballot = competitions.put(
        f"{url}/ballot", json={"submission_ids": [entry] * 3}, headers=reader.auth
    )
    assert expect_error(ballot, 409)["code"] == "wrong_judging"
    score = competitions.put(f"{url}/scores/{entry}", json={"score": 5}, headers=reader.auth)
    assert expect_error(score, 409)["code"] == "wrong_judging"
    judges = competitions.put(f"{url}/judges", json={"user_ids": []}, headers=admin.auth)
    assert expect_error(judges, 409)["code"] == "wrong_judging"
    # Open without a voting phase: likes are the votes already, so judging is fixed.
    changed = competitions.patch(url, json={"judging": "ranked"}, headers=admin.auth)
    assert expect_error(changed, 409)["code"] == "judging_fixed"
    expect_error(competitions.patch(url, json={"judging": "jury"}, headers=admin.auth), 422)

    ahead = create_competition(
        competitions, admin, "Ahead", voting_end_date=iso(datetime.now(UTC) + timedelta(days=3))
    )
    switched = competitions.patch(
        f"/competitions/{ahead}", json={"judging": "ranked"}, headers=admin.auth
    )
    assert switched.status_code == 200 and switched.json()["judging"] == "ranked"
    summaries = {c["competition_id"]: c for c in competitions.get("/competitions").json()}
    assert summaries[ahead]["judging"] == "ranked"
    assert summaries[liked]["judging"] == "likes"
