"""What people do in the browser, as small steps the tests read like a story."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.support import PASSWORD, unique


def sign_up(page: Page, prefix: str) -> str:
    """Create an account through the sign-up form; returns the username."""
    username = unique(prefix)
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("heading", name="Competitions", exact=True)).to_be_visible()
    return username


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def toast(page: Page, text: str | re.Pattern[str]) -> Locator:
    """The live notification toast that says ``text``."""
    return page.locator("#toasts").get_by_role("link", name=text)


def bell(page: Page, unread: int) -> Locator:
    name = f"Notifications, {unread} unread" if unread else "Notifications"
    return page.get_by_role("link", name=name, exact=True)


def address_of(page: Page) -> str:
    """The app's address of the page shown (``/...``), to open it elsewhere."""
    return "/" + page.url.split("/", 3)[3]
