"""Judging modes in the browser: an admin names the judges, a judge scores entries
while voting is open and the results place them by the judges' mean; a reader casts
a ranked ballot of the entries they read."""

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, iso, sign_up, unique


def _competition_voting_soon(
    api: httpx.Client, admin: Account, title: str, votes_for: timedelta, **fields: object
) -> tuple[str, datetime]:
    """A competition open for a few seconds, then voting for ``votes_for``; returns its
    id and when voting starts."""
    entries_close = datetime.now(UTC) + timedelta(seconds=5)
    competition = create_competition(
        api,
        admin,
        title,
        starts_in=timedelta(seconds=-1),
        lasts=entries_close - datetime.now(UTC) + timedelta(seconds=1),
        voting_end_date=iso(entries_close + votes_for),
        **fields,
    )
    return competition, entries_close


def _enter(api: httpx.Client, competition: str, writer: Account, title: str) -> str:
    entered = api.post(
        f"/competitions/{competition}/submit",
        json={"title": title, "content": f"{title}: once upon a time."},
        headers=writer.auth,
    )
    assert entered.status_code == 201, entered.text
    return str(entered.json()["submission_id"])


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 1.0)


def _open_entry(page: Page, competition: str, submission: str, title: str) -> None:
    page.goto(f"/competitions/{competition}/entries/{submission}")
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def test_a_named_judge_scores_an_entry_and_the_results_show_the_mean(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, judge, reader = sign_up(api, "judged"), sign_up(api, "judge"), sign_up(api, "reader")
    title = unique("Judged ")
    competition, voting_starts = _competition_voting_soon(
        api, admin_account, title, timedelta(seconds=14), judging="judges"
    )
    entry = _enter(api, competition, writer, "Lighthouse")

    admin = people.open("admin")
    log_in(admin, admin_account.email)
    admin.goto(f"/competitions/{competition}")
    expect(admin.get_by_text("Judged by: the mean of the judges' scores")).to_be_visible()
    expect(admin.get_by_text("No judges named yet.")).to_be_visible()
    editor = admin.get_by_role("form", name="Name the judges")
    editor.get_by_label("Judges' user ids, one a line").fill(writer.user_id)
    editor.get_by_role("button", name="Save judges").click()
    expect(editor.get_by_role("alert")).to_contain_text(f"cannot judge it: {writer.user_id}")
    editor.get_by_label("Judges' user ids, one a line").fill(judge.user_id)
    editor.get_by_role("button", name="Save judges").click()
    expect(editor.get_by_role("status")).to_have_text("Saved.")
    judges = admin.get_by_role("list", name="Judges")
    expect(judges.get_by_role("link", name=judge.username)).to_be_visible()
    expect(admin.get_by_text("No judges named yet.")).to_have_count(0)

    page, other = people.open("judge"), people.open("reader")
    log_in(page, judge.email)
    log_in(other, reader.email)
    _wait_until(voting_starts)

    admin.get_by_role("link", name="Edit competition").click()
    admin.get_by_label("Judging").select_option("likes")
    admin.get_by_role("button", name="Save changes").click()
    expect(admin.get_by_role("alert")).to_contain_text(
        "Judging cannot change once voting has started"
    )

    _open_entry(page, competition, entry, "Lighthouse")
    form = page.get_by_role("form", name="Your score")
    expect(form).to_contain_text("You have not scored it yet.")
    form.get_by_label("Your score, from 1 to 10").select_option("7")
    form.get_by_role("button", name="Save score").click()
    expect(form.get_by_role("status")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_role("form", name="Your score")).to_contain_text("Your saved score: 7.")
    expect(page.get_by_label("Your score, from 1 to 10")).to_have_value("7")

    _open_entry(other, competition, entry, "Lighthouse")
    expect(other.get_by_role("form", name="Your score")).to_have_count(0)
    expect(other.get_by_text("Likes are counted but hidden until the results.")).to_be_visible()

    page.goto(f"/competitions/{competition}/results")
    table = page.get_by_role("table")
    expect(table).to_contain_text("judges' scores", timeout=30_000)
    expect(table.get_by_role("columnheader", name="Mean score")).to_be_visible()
    expect(table.get_by_role("row").nth(1)).to_contain_text("7.0")
    assert people.uncaught_errors() == {}


def test_a_reader_ranks_what_they_read_on_their_ballot(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writers = [sign_up(api, "ranked") for _ in range(4)]
    voter = sign_up(api, "ranker")
    competition, voting_starts = _competition_voting_soon(
        api, admin_account, unique("Ranked "), timedelta(hours=1), judging="ranked"
    )
    for n, writer in enumerate(writers):
        _enter(api, competition, writer, f"Story {n}")
    _enter(api, competition, voter, "My own")

    page = people.open("voter")
    log_in(page, voter.email)
    page.goto(f"/competitions/{competition}")
    expect(page.get_by_text("Judged by: ranked ballots of readers.")).to_be_visible()
    expect(page.get_by_role("link", name="Most liked")).to_have_count(0)
    _wait_until(voting_starts)
    page.reload()
    page.get_by_role("link", name="Your ballot").click()

    expect(page.get_by_role("heading", name="Your ballot", level=1)).to_be_visible()
    expect(page.get_by_text("Rank only the entries you have read, best first")).to_be_visible()
    pool = page.get_by_role("list", name="Entries you can rank")
    expect(pool.get_by_role("listitem")).to_have_count(4)
    expect(pool).not_to_contain_text("My own")
    page.get_by_role("button", name="Add to your ballot: Story 0").click()
    page.get_by_role("button", name="Add to your ballot: Story 1").click()
    page.get_by_role("button", name="Save ballot").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Rank at least 3 entries: add more of those you have read."
    )

    page.get_by_role("button", name="Add to your ballot: Story 2").click()
    page.get_by_role("button", name="Move up: Story 2").click()
    expect(page.get_by_role("button", name="Move up: Story 2")).to_be_focused()
    page.keyboard.press("Enter")  # the focus stays on the moved entry's button
    titles = page.locator(".ballot .ballot-title")
    expect(titles).to_have_text(["Story 2", "Story 0", "Story 1"])
    page.get_by_role("button", name="Save ballot").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    page.reload()
    expect(titles).to_have_text(["Story 2", "Story 0", "Story 1"])
    expect(page.get_by_text("Ballot saved")).to_be_visible()
    expect(pool.get_by_role("listitem")).to_have_count(1)
    assert people.uncaught_errors() == {}


def test_ranked_results_show_each_entrys_score_and_ballots(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writers = [sign_up(api, "placed") for _ in range(3)]
    voters = [sign_up(api, "balloter") for _ in range(2)]
    competition, voting_starts = _competition_voting_soon(
        api, admin_account, unique("Placed "), timedelta(seconds=4), judging="ranked"
    )
    entries = [_enter(api, competition, writer, f"Tale {n}") for n, writer in enumerate(writers)]
    page = people.open("reader")
    page.goto(f"/competitions/{competition}/results")
    _wait_until(voting_starts)
    for voter in voters:
        cast = api.put(
            f"/competitions/{competition}/ballot",
            json={"submission_ids": entries},
            headers=voter.auth,
        )
        assert cast.status_code == 200, cast.text

    table = page.get_by_role("table")
    expect(table).to_contain_text("ranked ballots", timeout=30_000)
    headers = table.get_by_role("columnheader")
    expect(headers).to_have_text(["Place", "Entry", "Writer", "Score", "Ballots"])
    first = table.get_by_role("row").nth(1)
    expect(first).to_contain_text("1st")
    expect(first).to_contain_text("Tale 0")
    expect(first.get_by_role("cell").nth(4)).to_have_text("2")
    expect(first.get_by_role("cell").nth(3)).to_have_text(re.compile(r"^\d+\.\d\d$"))
    expect(page.locator("figcaption")).to_have_text("Score per entry")
    assert people.uncaught_errors() == {}
