"""An anonymous competition in the browser: the create form makes one by default,
readers see neither names nor like counts until the results, and the author sees
their own entry marked as theirs."""

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, sign_up, unique


def test_the_create_form_makes_competitions_anonymous_by_default(
    people: People, admin_account: Account
) -> None:
    page = people.open("admin")
    log_in(page, admin_account.email)
    page.get_by_role("link", name="New competition").first.click()
    anonymous = page.get_by_label("Anonymous: authors and like counts stay hidden")
    expect(anonymous).to_be_checked()
    title = unique("Masks ")
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create competition").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_text("Anonymous: authors and like counts are hidden")).to_be_visible()

    page.get_by_role("link", name="Edit competition").click()
    expect(anonymous).to_be_checked()
    anonymous.uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_text("Anonymous: authors and like counts are hidden")).to_have_count(0)


def test_readers_see_no_names_or_counts_and_the_author_sees_their_own(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "masked"), sign_up(api, "guesser")
    title = unique("Veiled ")
    competition = create_competition(api, admin_account, title, anonymous=True)
    url = f"/competitions/{competition}"
    entered = api.post(
        f"{url}/submit", json={"title": "Unsigned", "content": "Nobody knows."}, headers=writer.auth
    ).json()
    entry = f"{url}/entries/{entered['submission_id']}"
    question = api.post(
        f"{url}/comment/{entered['submission_id']}",
        json={"content": "Who wrote this?"},
        headers=reader.auth,
    ).json()
    api.post(
        f"{url}/comment/{entered['submission_id']}",
        json={"content": "A secret.", "parent_id": question["comment_id"]},
        headers=writer.auth,
    )

    page = people.open("guesser")
    log_in(page, reader.email)
    page.goto(f"{url}")
    card = page.locator(".entry-card").first
    expect(card).to_contain_text("by an anonymous writer")
    expect(card).not_to_contain_text(writer.username)
    expect(card).not_to_contain_text("like")
    expect(page.get_by_role("link", name="Most liked")).to_have_count(0)
    page.goto(entry)
    expect(page.get_by_text("Likes are counted but hidden until the results.")).to_be_visible()
    expect(page.get_by_role("button", name="Like", exact=True)).to_be_visible()
    reply = page.get_by_role("article", name="Comment by the author")
    expect(reply).to_contain_text("Author")
    expect(reply).to_contain_text("A secret.")
    expect(page.locator("main")).not_to_contain_text(writer.username)

    own = people.open("masked")
    log_in(own, writer.email)
    own.goto(f"{url}")
    mine = own.locator(".entry-card").first
    expect(mine).to_contain_text(writer.username)
    expect(mine.locator(".mine-mark")).to_have_text("you")
    own.goto(entry)
    expect(own.get_by_text("Likes are counted but hidden until the results.")).to_be_visible()
    expect(own.get_by_role("button", name="Like", exact=True)).to_have_count(0)
