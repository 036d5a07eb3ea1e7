"""An admin suspends a writer from the writer's profile; the writer, signed in
elsewhere, is signed out at once and told why, cannot log in (and reads why), until the
admin lifts the suspension."""

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import PASSWORD, Account, sign_up, wait_until
from tests.support import log_in as log_in_by_api

REASON = "Plagiarised <b>story</b> — «copié» 🙂"


def lift_known_everywhere(api: httpx.Client, account: Account) -> None:
    """Until every competitions replica takes the writer's token again: each learns of
    a lift at its next refresh of the suspended users, and until then would close the
    new session's socket as suspended (4403)."""
    token = log_in_by_api(api, account.email, account.username).auth
    wait_until(
        lambda: all(api.get("/notifications", headers=token).status_code == 200 for _ in range(6)),
        "the lift to reach every replica",
    )


def try_to_log_in(page: Page, account: Account) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_suspends_and_the_writer_is_told_why(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "suspect")
    writer_page = people.open("writer")
    log_in(writer_page, writer.email)

    admin_page = people.open("admin")
    log_in(admin_page, admin_account.email)
    admin_page.goto(f"/writers/{writer.user_id}")
    moderation = admin_page.get_by_role("region", name="Moderation")
    expect(moderation).to_contain_text("Not suspended")
    moderation.get_by_label("Reason for suspending").fill(REASON)
    moderation.get_by_role("button", name="Suspend").click()
    expect(moderation.get_by_text("Suspended", exact=True)).to_be_visible()
    expect(moderation).to_contain_text(f"Reason: {REASON}")  # as text, not markup

    # The writer's notification socket is closed (4403) once their replica learns of it
    # (and any request of theirs is refused, 403): signed out where they are, and taken
    # to the login page, which says why.
    alert = writer_page.get_by_role("alert")
    expect(alert).to_have_text(f"Your account is suspended: {REASON}.")
    expect(writer_page.get_by_role("button", name="Log out")).to_have_count(0)

    try_to_log_in(writer_page, writer)
    expect(writer_page.get_by_role("alert")).to_have_text(f"Your account is suspended: {REASON}.")
    expect(writer_page.get_by_role("button", name="Log out")).to_have_count(0)

    moderation.get_by_role("button", name="Lift suspension").click()
    expect(moderation).to_contain_text("A suspension was lifted")
    expect(moderation.get_by_role("button", name="Suspend")).to_be_visible()

    lift_known_everywhere(api, writer)
    try_to_log_in(writer_page, writer)
    expect(writer_page.get_by_role("button", name="Log out")).to_be_visible()


def test_others_see_no_moderation_on_a_profile(people: People, api: httpx.Client) -> None:
    writer, reader = sign_up(api, "writer"), sign_up(api, "reader")
    page = people.open("reader")
    log_in(page, reader.email)
    page.goto(f"/writers/{writer.user_id}")
    expect(page.get_by_role("heading", name=writer.username)).to_be_visible()
    expect(page.get_by_role("region", name="Moderation")).to_have_count(0)
    expect(page.get_by_role("button", name="Suspend")).to_have_count(0)
