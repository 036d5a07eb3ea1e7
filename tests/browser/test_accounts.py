"""Accounts in the browser, on a platform that mails over SMTP to a server in this
test process, whose access tokens live six seconds and where entering needs a verified
address: a writer stays signed in across expiries (renewed silently), resets a
forgotten password by following the mailed link, confirms their address (and can then
enter), changes it and their password."""

import json
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in, sign_up
from tests.support import PASSWORD, Platform, create_competition, platform_on_redis, unique
from tests.support import log_in as api_log_in
from tests.support.mailbox import Mailbox, link_in, text_of, token_in

ACCESS_SECONDS = 6
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def mailing(
    mailbox: Mailbox, make_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with platform_on_redis(
        tmp_path_factory.mktemp("browser-accounts"),
        make_database,
        "webaccounts",
        LITCOMP_SMTP_URL=mailbox.url,
        LITCOMP_JWT_TTL_SECONDS=str(ACCESS_SECONDS),
        LITCOMP_MAIL_POLL_SECONDS="0.5",
        LITCOMP_REQUIRE_VERIFIED_EMAIL="true",
    ) as up:
        yield up


@pytest.fixture
def here(chromium: Browser, mailing: Platform, request: pytest.FixtureRequest) -> Iterator[People]:
    opened = People(chromium, mailing.url)
    yield opened
    call = getattr(request.node, "report_call", None)
    if call is None or call.failed:
        opened.save_artifacts(request.node.nodeid)
    opened.close()


def stored_session(page: Page) -> dict[str, str]:
    return dict(json.loads(page.evaluate("localStorage.getItem('litcomp.session')")))


def test_an_active_writer_stays_signed_in_across_expiries(here: People) -> None:
    page = here.open("writer")
    sign_up(page, "steady")
    first = stored_session(page)
    # Renewed before it expires, twice over, by the page alone.
    for _ in range(2):
        before = stored_session(page)["token"]
        page.wait_for_function(
            "(old) => JSON.parse(localStorage.getItem('litcomp.session')).token !== old",
            arg=before,
            timeout=ACCESS_SECONDS * 1000 * 2,
        )
    renewed = stored_session(page)
    assert renewed["refresh_token"] != first["refresh_token"]
    assert renewed["expires_at"] > first["expires_at"]
    page.goto("/profile")
    page.get_by_label("Bio").fill("Still here after the first token expired.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert not here.uncaught_errors()


# Chromium keeps a copy of localStorage in each tab's process and tells a tab of
# another's write a moment later: under load, late enough for a tab to take the
# renewal lock just released and still read the refresh token the other tab used.
# Here that moment is always a second (for the session's key): reads give the value
# from before the other tab's write, and its storage event comes late.
SEEING_WRITES_LATE = """(() => {
  const KEY = "litcomp.session";
  const LAG_MS = 1000;
  const { getItem, setItem, removeItem } = Storage.prototype;
  let seen = null; // {value}: what this tab still sees of the key, while a write is on its way
  let coming = 0;
  window.addEventListener("storage", (event) => {
    if (event.key !== KEY || !event.isTrusted) return;
    event.stopImmediatePropagation();
    seen ??= { value: event.oldValue };
    coming += 1;
    setTimeout(() => {
      coming -= 1;
      if (!coming) seen = null;
      window.dispatchEvent(new StorageEvent("storage", {
        key: KEY, oldValue: event.oldValue, newValue: event.newValue, storageArea: localStorage,
      }));
    }, LAG_MS);
  }, true);
  Storage.prototype.getItem = function (key) {
    return key === KEY && seen ? seen.value : getItem.call(this, key);
  };
  // A tab sees its own writes at once.
  Storage.prototype.setItem = function (key, value) {
    if (key === KEY) seen = null;
    return setItem.call(this, key, value);
  };
  Storage.prototype.removeItem = function (key) {
    if (key === KEY) seen = null;
    return removeItem.call(this, key);
  };
})();"""


@pytest.mark.parametrize("late", [False, True], ids=["", "seeing-writes-late"])
def test_two_tabs_share_one_session_without_ending_it(here: People, late: bool) -> None:
    page = here.open("writer")
    if late:
        page.context.add_init_script(SEEING_WRITES_LATE)
    sign_up(page, "tabs")
    other = page.context.new_page()
    other.goto("/profile")
    expect(other.get_by_role("button", name="Log out")).to_be_visible()
    start = stored_session(page)["token"]
    for tab in (page, other):  # both tabs see every renewal, and neither is signed out
        tab.wait_for_function(
            "(old) => JSON.parse(localStorage.getItem('litcomp.session') || '{}').token !== old",
            arg=start,
            timeout=ACCESS_SECONDS * 1000 * 2,
        )
    later = stored_session(other)["token"]
    page.wait_for_function(
        "(old) => JSON.parse(localStorage.getItem('litcomp.session') || '{}').token !== old",
        arg=later,
        timeout=ACCESS_SECONDS * 1000 * 2,
    )
    other.reload()
    expect(other.get_by_role("heading", name="Your profile", exact=True)).to_be_visible()
    expect(other.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_forgotten_password_is_reset_by_mail(here: People, mailbox: Mailbox) -> None:
    page = here.open("writer")
    username = sign_up(page, "forgetful")
    email = f"{username}@example.com"
    page.get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status").filter(has_text="Check your mail")).to_be_visible()

    page.goto(link_in(mailbox.wait_for(email, "Reset")))
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_label("New password")).to_have_accessible_description(
        re.compile("^Too short: use at least 8 characters")
    )
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()

    page.get_by_role("link", name="Log in with it").click()
    log_in(page, email, NEW_PASSWORD)

    page.goto(link_in(mailbox.wait_for(email, "Reset")))  # the same link again
    page.get_by_label("New password").fill("yet another passphrase")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_have_text("This link has already been used.")

    page.goto("/password/reset")  # the address cut short by a mail program
    expect(page.get_by_role("alert")).to_contain_text("This link is incomplete.")


def test_confirming_the_address_and_changing_the_password(here: People, mailbox: Mailbox) -> None:
    page = here.open("writer")
    username = sign_up(page, "careful")
    email = f"{username}@example.com"
    page.goto("/profile")
    status = page.locator("#email-status")
    expect(status).to_contain_text("Not verified")
    status.get_by_role("button", name="Send the confirmation link again").click()
    expect(status).to_contain_text("is on its way")

    page.goto(link_in(mailbox.wait_for(email, "Confirm your email", 2)))
    expect(page.get_by_role("status").filter(has_text=f"{email} is confirmed")).to_be_visible()
    page.get_by_role("link", name="Back to your profile").click()
    expect(page.locator("#email-status")).to_contain_text("Verified")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The password is wrong.")
    page.get_by_label("Current password").fill("correct horse battery")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    log_in(page, email, NEW_PASSWORD)


def test_changing_the_address_by_the_mailed_link(here: People, mailbox: Mailbox) -> None:
    page = here.open("writer")
    username = sign_up(page, "moving")
    new = f"{username}-new@example.com"
    page.goto("/profile")
    form = page.locator("form").filter(has_text="Change your email address")
    form.get_by_label("New email").fill(new)
    form.get_by_label("Your password").fill("not my password")
    form.get_by_role("button", name="Change email").click()
    expect(form.get_by_role("alert")).to_have_text("The password is wrong.")
    form.get_by_label("Your password").fill("correct horse battery")
    form.get_by_role("button", name="Change email").click()
    expect(page.get_by_role("status").filter(has_text=f"Check your mail at {new}")).to_be_visible()
    expect(page.locator("#email-status")).to_contain_text(f"{username}@example.com")

    notice = mailbox.wait_for(f"{username}@example.com", "about to change")
    assert new in text_of(notice)
    page.goto(link_in(mailbox.wait_for(new, "new email")))
    expect(page.get_by_role("status").filter(has_text=f"{new} is confirmed")).to_be_visible()
    page.get_by_role("link", name="Back to your profile").click()
    expect(page.locator("#email-status")).to_contain_text(new)
    expect(page.locator("#email-status")).to_contain_text("Verified")


def test_entering_waits_for_a_confirmed_address(
    here: People, mailbox: Mailbox, mailing: Platform
) -> None:
    with httpx.Client(base_url=mailing.url, timeout=10) as client:
        admin_name = unique("admin")
        mailing.create_admin(f"{admin_name}@example.com", admin_name, PASSWORD)
        admin = api_log_in(client, f"{admin_name}@example.com", admin_name)
        competition = create_competition(client, admin, unique("Verified "))
        page = here.open("writer")
        username = sign_up(page, "entrant")
        page.goto(f"/competitions/{competition}")
        page.get_by_role("button", name="Enter this competition").click()
        page.get_by_label("Title").fill("A confirmed story")
        page.get_by_label("Your text").fill("Once upon a time, a writer confirmed.")
        page.get_by_role("button", name="Submit entry").click()
        expect(page.get_by_role("alert").filter(has_text="confirm your email")).to_have_text(
            "Please confirm your email address first: follow the link we mailed you, "
            "or send it again from your profile."
        )
        # Confirmed elsewhere (a phone): this page's token still says unverified.
        mail = mailbox.wait_for(f"{username}@example.com", "Confirm your email")
        confirmed = client.post("/users/email/confirm", json={"token": token_in(mail)})
        assert confirmed.status_code == 200
    page.get_by_role("button", name="Submit entry").click()
    expect(page.get_by_role("heading", name="A confirmed story")).to_be_visible()
