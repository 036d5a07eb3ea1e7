"""The login form by keyboard alone, and API errors shown in words."""

import re

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.support import Account, sign_up


def test_logging_in_by_keyboard_alone(people: People, api: httpx.Client) -> None:
    account: Account = sign_up(api, "keys")
    page = people.open("keyboard")
    page.goto("/login")
    heading = page.get_by_role("heading", name="Log in", level=1)
    expect(heading).to_be_focused()  # the router starts keyboard users at the content

    page.keyboard.press("Tab")
    email = page.get_by_label("Email")
    expect(email).to_be_focused()
    page.keyboard.type(account.email)
    page.keyboard.press("Tab")
    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    # The focus ring is visible (from :focus-visible), not styled away.
    assert password.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("heading", name="Competitions", level=1)).to_be_focused()


def test_a_wrong_password_is_explained(people: People, api: httpx.Client) -> None:
    account = sign_up(api, "oops")
    page = people.open("oops")
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password")).to_be_focused()  # ready for another try
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_invalid_sign_up_fields_are_named(people: People) -> None:
    page = people.open("signup")
    page.goto("/signup")
    page.get_by_label("Username").fill("ok_name")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(page.get_by_label("Email")).to_have_accessible_description(
        "Enter an email address like name@example.com."
    )
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("^Too short: use at least 8 characters.")
    )
    expect(page.get_by_label("Username")).not_to_have_attribute("aria-invalid", "true")
