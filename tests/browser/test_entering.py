"""Entering a competition in the browser: a story typed is never lost (an ended
session asks to log in again in place, then sends), entries are edited and withdrawn
while entries are open, and shared places read as ties."""

import re
import time
from datetime import timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import PASSWORD, Account, create_competition, sign_up, unique

STORY = "The lighthouse keeper counted ships.\n\nNone came. *She kept counting.*"


def end_the_session(page: Page) -> None:
    """Make the server refuse the page's token from now on, as it refuses an expired
    one: the stored token's signature is broken, and the app reads the stored session
    again as it does when another tab changes it."""
    page.evaluate(
        """() => {
            const stored = JSON.parse(localStorage.getItem("litcomp.session"));
            stored.token = stored.token.slice(0, -4) + "AAAA";
            localStorage.setItem("litcomp.session", JSON.stringify(stored));
            window.dispatchEvent(new StorageEvent("storage", { key: "litcomp.session" }));
        }"""
    )


def test_a_story_survives_an_ended_session_and_a_reload_then_is_sent(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "keeper")
    title = unique("Ships ")
    competition = create_competition(
        api, admin_account, title, word_min=3, word_max=12, max_entries_per_user=1
    )
    page = people.open("writer")
    log_in(page, writer.email)
    page.goto(f"/competitions/{competition}")
    page.get_by_role("button", name="Enter this competition").click()
    page.get_by_label("Title").fill("Ships that never came")
    page.get_by_label("Your text").fill("The lighthouse keeper")
    expect(page.locator(".word-count")).to_have_text("3 words (3\u201312 words)")
    expect(page.get_by_text("Draft saved at")).to_be_visible()  # autosaved, not asked
    page.get_by_label("Your text").fill("The lighthouse")
    expect(page.locator(".word-count.outside")).to_have_text("2 words (3\u201312 words)")
    page.get_by_role("button", name="Submit entry").click()
    expect(page.get_by_label("Your text")).to_have_accessible_description(
        re.compile("^Has 2 words; this competition takes at least 3.")
    )
    page.get_by_label("Your text").fill(STORY)
    expect(page.locator(".word-count")).to_have_text("10 words (3\u201312 words)")
    page.get_by_text("Preview (as of the last save)").click()
    expect(page.locator(".preview em")).to_have_text("She kept counting.")  # once saved

    end_the_session(page)
    page.get_by_role("button", name="Submit entry").click()
    relogin = page.get_by_role("group", name="Log in again")
    expect(relogin.get_by_role("button", name="Log in and send")).to_be_visible()
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    expect(page.get_by_label("Your text")).to_have_value(STORY)  # not a word lost

    page.reload()  # even a reload keeps it
    expect(page.get_by_label("Your text")).to_have_value(STORY)
    relogin.get_by_label("Email").fill(writer.email)
    relogin.get_by_label("Password").fill(PASSWORD)
    relogin.get_by_role("button", name="Log in and send").click()

    expect(page.get_by_role("heading", name="Ships that never came", level=1)).to_be_visible()
    mine = api.get("/users/profile/submissions", headers=writer.auth).json()
    assert [(e["title"], e["content"]) for e in mine] == [("Ships that never came", STORY)]
    draft = api.get(f"/competitions/{competition}/draft", headers=writer.auth)
    assert draft.status_code == 404  # the submit took the draft away
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('litcomp.entry'))") == []
    )


def test_a_draft_is_restored_after_a_new_login_elsewhere(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "drafter")
    competition = create_competition(api, admin_account, unique("Letters "))
    first = people.open("laptop")
    log_in(first, writer.email)
    first.goto(f"/competitions/{competition}")
    first.get_by_role("button", name="Enter this competition").click()
    first.get_by_label("Title").fill("Dear nobody")
    first.get_by_label("Your text").fill("I am writing to say")
    expect(first.get_by_text("Draft saved at")).to_be_visible()

    second = people.open("phone", phone=True)  # another browser: only the server has it
    log_in(second, writer.email)
    second.goto(f"/competitions/{competition}")
    expect(second.get_by_text("Your draft is restored.")).to_be_visible()
    expect(second.get_by_label("Title")).to_have_value("Dear nobody")
    expect(second.get_by_label("Your text")).to_have_value("I am writing to say")


def test_an_entry_is_edited_and_withdrawn_while_entries_are_open(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "reviser")
    competition = create_competition(api, admin_account, unique("Revisions "))
    entered = api.post(
        f"/competitions/{competition}/submit",
        json={"title": "First try", "content": "Too short."},
        headers=writer.auth,
    )
    assert entered.status_code == 201, entered.text
    page = people.open("writer")
    log_in(page, writer.email)
    page.goto(f"/competitions/{competition}")
    expect(page.locator(".your-entry")).to_contain_text("You entered First try")
    expect(page.get_by_role("button", name="Enter this competition")).to_have_count(0)

    page.get_by_role("button", name="Edit entry").click()
    page.get_by_label("Title").fill("Second try")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Second try", level=1)).to_be_visible()
    expect(page.locator(".entry .meta")).to_contain_text("edited")

    page.go_back()
    page.get_by_role("button", name="Withdraw entry").click()
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.get_by_role("status").filter(has_text="Second try is withdrawn.")).to_be_visible()
    expect(page.get_by_role("button", name="Enter this competition")).to_be_visible()
    assert api.get(f"/competitions/{competition}/submissions").json()["total"] == 0


def test_equal_likes_share_a_place_on_the_results_page(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    lasts = timedelta(seconds=4)
    authors = {name: sign_up(api, name) for name in ("north", "south")}  # before: it is short
    competition = create_competition(
        api, admin_account, unique("Ties "), starts_in=timedelta(seconds=-1), lasts=lasts
    )
    for name, author in authors.items():
        entered = api.post(
            f"/competitions/{competition}/submit",
            json={"title": f"{name.title()} wind", "content": "It blew."},
            headers=author.auth,
        )
        assert entered.status_code == 201, entered.text
    time.sleep(lasts.total_seconds())
    page = people.open("reader")
    page.goto(f"/competitions/{competition}/results")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("1st (tied)")
    expect(rows.nth(2)).to_contain_text("1st (tied)")
    expect(page.get_by_role("table")).to_contain_text("equal likes share a place")
