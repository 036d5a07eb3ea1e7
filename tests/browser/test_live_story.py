"""The story the web app exists for, in two browsers at once (plus the admin's).

A writer and a reader sign up; an admin creates a competition; the reader
subscribes; the writer enters a story whose text holds a script tag; the reader is
told live and the story shows as text; the reader likes and comments; the writer is
told of both live and replies; the reader is told of the reply. Nobody reloads.
"""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import People
from tests.browser.steps import address_of, bell, log_in, sign_up, toast
from tests.support import Account, unique

SCRIPT = "<script>window.pwned=1</script>"
IMAGE = "<img src=x onerror=window.pwned=2>"


def create_competition(admin: Page, title: str) -> str:
    """Through the admin's form (it opens now and closes in a week by default), with
    authors named: the story follows who did what."""
    admin.get_by_role("link", name="New competition").first.click()
    admin.get_by_label("Title").fill(title)
    admin.get_by_label("Description").fill("Stories of at most a page.\nAny genre.")
    admin.get_by_label("Anonymous: authors and like counts stay hidden").uncheck()
    admin.get_by_role("button", name="Create competition").click()
    expect(admin.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(admin.get_by_text("Open", exact=True)).to_be_visible()
    return address_of(admin)


def assert_not_run(page: Page) -> None:
    assert page.evaluate("typeof window.pwned") == "undefined"
    expect(page.locator("main script, main img")).to_have_count(0)


def test_writer_and_reader_meet_live(people: People, admin_account: Account) -> None:
    admin, writer, reader = people.open("admin"), people.open("writer"), people.open("reader")
    writer_name = sign_up(writer, "writer")
    reader_name = sign_up(reader, "reader")
    log_in(admin, admin_account.email)
    competition = create_competition(admin, unique("Night trains "))

    reader.goto(competition)
    reader.get_by_role("button", name="Subscribe to new entries").click()
    expect(reader.get_by_role("button", name="Unsubscribe from new entries")).to_be_visible()

    writer.goto(competition)
    writer.get_by_role("button", name="Enter this competition").click()
    title = f"The last train {IMAGE}"
    writer.get_by_label("Title").fill(title)
    writer.get_by_label("Your text").fill(f"It left at midnight.\n{SCRIPT}\nNobody saw it go.")
    writer.get_by_role("button", name="Submit entry").click()
    expect(writer.get_by_role("heading", name=title, level=1)).to_be_visible()

    # The reader is told while looking at the competition, and its list grows.
    notice = toast(reader, f"{writer_name} entered “{title}”")
    expect(notice).to_be_visible()
    expect(bell(reader, 1)).to_be_visible()
    expect(reader.get_by_role("main").get_by_role("link", name=title, exact=True)).to_be_visible()
    notice.click()
    expect(reader.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(reader.locator(".prose")).to_contain_text(SCRIPT)
    assert_not_run(reader)

    reader.get_by_role("button", name="Like", exact=True).click()
    expect(reader.get_by_text("1 like", exact=True)).to_be_visible()
    reader.get_by_label("Add a comment").fill("The last line made me shiver.")
    reader.get_by_role("button", name="Post comment").click()
    expect(reader.get_by_text("Your comment is posted.")).to_be_visible()

    # The writer, still on the entry, hears of both and sees them on the page.
    expect(toast(writer, f"{reader_name} liked your entry “{title}”")).to_be_visible()
    expect(toast(writer, f"{reader_name} commented on your entry “{title}”")).to_be_visible()
    expect(bell(writer, 2)).to_be_visible()
    expect(writer.get_by_text("1 like", exact=True)).to_be_visible()
    expect(writer.get_by_text("The last line made me shiver.")).to_be_visible()
    assert_not_run(writer)

    writer.get_by_role("button", name=f"Reply to {reader_name}").click()
    writer.get_by_label(f"Your reply to {reader_name}").fill("Thank you, it was a quiet night.")
    writer.get_by_role("button", name="Post reply").click()
    expect(writer.get_by_text("Your reply is posted.")).to_be_visible()

    expect(toast(reader, re.compile(f"{writer_name} replied to your comment"))).to_be_visible()
    expect(reader.get_by_text("Thank you, it was a quiet night.")).to_be_visible()
    assert_not_run(reader)
    assert people.uncaught_errors() == {}
