"""A competition's phases and terms in the browser: what an admin sets, what writers
read, and likes that wait for the voting phase."""

import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, iso, sign_up, unique


def test_an_admin_sets_the_terms_and_writers_read_them(
    people: People, admin_account: Account
) -> None:
    page = people.open("admin")
    log_in(page, admin_account.email)
    page.get_by_role("link", name="New competition").first.click()
    title = unique("Doors ")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Prompt").fill("A door that should not open.")
    page.get_by_label("Rules").fill("Original work only.")
    page.get_by_label("Tags").fill("Horror, flash , HORROR")
    page.get_by_label("Opens").fill("2099-01-01T10:00")
    page.get_by_label("Entries close").fill("2099-01-08T10:00")
    page.get_by_label("Voting ends").fill("2099-01-15T10:00")
    page.get_by_label("Fewest words").fill("100")
    page.get_by_label("Most words").fill("3000")
    page.get_by_role("button", name="Create competition").click()

    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Prompt")).to_contain_text(
        "A door that should not open."
    )
    expect(page.get_by_role("list", name="Tags").get_by_role("listitem")).to_have_text(
        ["horror", "flash"]
    )
    expect(page.locator(".limits").first).to_contain_text("100\u20133,000 words")
    expect(page.get_by_text("Voting until")).to_be_visible()
    page.get_by_text("Rules", exact=True).click()
    expect(page.get_by_text("Original work only.")).to_be_visible()

    # Taking the voting phase away again: the field emptied is sent as null.
    page.get_by_role("link", name="Edit competition").click()
    page.get_by_label("Voting ends").fill("")
    page.get_by_label("Most words").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_text("Voting until")).to_have_count(0)
    expect(page.locator(".limits").first).to_contain_text("At least 100 words")


def test_likes_wait_for_the_voting_phase(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "voted"), sign_up(api, "voter")
    entries_close = datetime.now(UTC) + timedelta(seconds=6)
    title = unique("Ballot ")
    competition = create_competition(
        api,
        admin_account,
        title,
        starts_in=timedelta(seconds=-1),
        lasts=entries_close - datetime.now(UTC) + timedelta(seconds=1),
        voting_end_date=iso(entries_close + timedelta(hours=1)),
    )
    entered = api.post(
        f"/competitions/{competition}/submit",
        json={"title": "Knock", "content": "Someone knocked."},
        headers=writer.auth,
    )
    assert entered.status_code == 201, entered.text
    entry = f"/competitions/{competition}/entries/{entered.json()['submission_id']}"

    page = people.open("voter")
    log_in(page, reader.email)
    page.goto(entry)
    expect(page.get_by_text("Likes open when voting starts.")).to_be_visible()
    expect(page.get_by_role("button", name="Like", exact=True)).to_have_count(0)

    time.sleep(max(0.0, (entries_close - datetime.now(UTC)).total_seconds()) + 1.5)
    page.goto("/competitions?status=voting")
    page.get_by_role("link", name="Voting", exact=True).click()
    page.get_by_role("link", name=entry and "Ballot", exact=False).first.click()
    expect(page.get_by_text("Voting ends in")).to_be_visible()
    page.goto(entry)
    page.get_by_role("button", name="Like", exact=True).click()
    expect(page.locator(".like-count")).to_have_text("1 like")
    assert people.uncaught_errors() == {}
