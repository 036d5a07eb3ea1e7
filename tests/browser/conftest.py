"""Browser tests: Debian's Chromium, driven by Playwright, against the real platform.

The platform is the e2e shape (discovery, the gateway, one users and two
competitions replicas) on PostgreSQL and Redis. Each test opens as many browser
contexts as it has people; a context is a separate browser profile, so two people
are signed in at once. When a test fails, every page it opened leaves a screenshot
and its console log in ``test-artifacts/browser/``.
"""

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.support import PASSWORD, Account, Platform, log_in, platform_on_redis, unique

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

# Live notices cross a socket, Redis and another replica; give them room on a busy
# CI machine. Auto-waiting returns as soon as the page is right.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def web_platform(
    make_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with platform_on_redis(tmp_path_factory.mktemp("browser"), make_database, "web") as up:
        yield up


@pytest.fixture(scope="package")
def api(web_platform: Platform) -> Iterator[httpx.Client]:
    """A plain API client, for arranging what a test does not do in the browser."""
    with httpx.Client(base_url=web_platform.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="package")
def admin_account(web_platform: Platform, api: httpx.Client) -> Account:
    username = unique("admin")
    email = f"{username}@example.com"
    web_platform.create_admin(email, username, PASSWORD)
    return log_in(api, email, username)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium: sudo make prerequisites installs it")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Person:
    """One browser profile (a Playwright context) with its page and what it logged."""

    name: str
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class People:
    """Opens a browser context per person; keeps their logs for failure reports."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self._browser = browser
        self._base_url = base_url
        self.opened: list[Person] = []

    def open(self, name: str, *, phone: bool = False) -> Page:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1200, "height": 900}
        context = self._browser.new_context(base_url=self._base_url, viewport=viewport)
        page = context.new_page()
        person = Person(name, page)
        page.on("console", lambda message: person.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        self.opened.append(person)
        return page

    def uncaught_errors(self) -> dict[str, list[str]]:
        return {person.name: person.errors for person in self.opened if person.errors}

    def save_artifacts(self, test_name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", test_name)
        for person in self.opened:
            base = ARTIFACTS / f"{stem}-{person.name}"
            try:
                person.page.screenshot(path=f"{base}.png", full_page=True)
            except Exception as exc:  # a crashed page still leaves its log
                person.console.append(f"(no screenshot: {exc})")
            lines = [
                f"url: {person.page.url}",
                *person.console,
                *map("pageerror: {}".format, person.errors),
            ]
            Path(f"{base}.log").write_text("\n".join(lines) + "\n")

    def close(self) -> None:
        for person in self.opened:
            person.page.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the test, so fixtures can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def people(
    chromium: Browser, web_platform: Platform, request: pytest.FixtureRequest
) -> Iterator[People]:
    opened = People(chromium, web_platform.url)
    yield opened
    call = getattr(request.node, "report_call", None)
    if call is None or call.failed:
        opened.save_artifacts(request.node.nodeid)
    opened.close()
