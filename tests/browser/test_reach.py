"""First impressions and reach: real addresses, link previews, the home page."""

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, Platform, create_competition, sign_up, unique

SITEMAPS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


class Tags(HTMLParser):
    """The head's title and meta tags, as a link preview reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (name := found.get("property") or found.get("name")):
            self.meta[name] = found.get("content") or ""
        if tag == "link" and found.get("rel") == "canonical":
            self.meta["canonical"] = found.get("href") or ""
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def preview(api: httpx.Client, path: str) -> Tags:
    """The page at ``path`` fetched as a browser (or a link preview crawler) does."""
    response = api.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    tags = Tags()
    tags.feed(response.text)
    return tags


def enter(api: httpx.Client, writer: Account, competition: str, title: str, content: str) -> str:
    response = api.post(
        f"/competitions/{competition}/submit",
        json={"title": title, "content": content},
        headers=writer.auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["submission_id"])


def test_each_page_opens_at_its_own_address_and_back_and_forward_work(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "addr")
    competition = create_competition(api, admin_account, unique("Addresses "))
    entry = enter(api, writer, competition, "The lighthouse", "A keeper counts the ships.")
    page = people.open("reader")

    page.goto(f"/competitions/{competition}/entries/{entry}")
    expect(page.get_by_role("heading", name="The lighthouse")).to_be_visible()
    page.goto(f"/writers/{writer.user_id}")
    expect(page.get_by_role("heading", name=writer.username)).to_be_visible()
    page.goto(f"/competitions/{competition}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Addresses")

    # A click is shown without loading the page again; back and forward retrace it.
    page.evaluate("window.stayed = true")
    page.get_by_role("link", name="The lighthouse").click()
    expect(page).to_have_url(re.compile(f"/competitions/{competition}/entries/{entry}$"))
    expect(page.get_by_role("heading", name="The lighthouse")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(f"/competitions/{competition}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Addresses")
    page.go_forward()
    expect(page.get_by_role("heading", name="The lighthouse")).to_be_visible()
    assert page.evaluate("window.stayed") is True

    # An address shared before real URLs still leads to its page.
    page.goto(f"/#/competitions/{competition}")
    expect(page).to_have_url(re.compile(f"/competitions/{competition}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Addresses")

    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_the_api_keeps_answering_json_at_the_same_addresses(
    api: httpx.Client, admin_account: Account
) -> None:
    competition = create_competition(api, admin_account, unique("JSON "))
    for accept in ("application/json", "*/*"):
        response = api.get(f"/competitions/{competition}", headers={"Accept": accept})
        assert response.headers["content-type"] == "application/json"
        assert response.json()["competition_id"] == competition
    listed = api.get("/competitions", headers={"Accept": "*/*"})
    assert isinstance(listed.json(), list)


def test_a_shared_link_previews_the_story_and_its_writer_once_revealed(
    api: httpx.Client, admin_account: Account
) -> None:
    writer = sign_up(api, "shared")
    title = unique('Salt & "Pepper" <b>')
    named = create_competition(api, admin_account, title, prompt="Write about the sea at night.")
    story = "The tide came in **slowly**.\n\nThen it went out again, taking the boats."
    entry = enter(api, writer, named, "Night tide", story)

    tags = preview(api, f"/competitions/{named}")
    assert tags.title == f"{title} · litcomp"  # escaped in the page, read back whole
    assert tags.meta["og:title"] == title
    assert tags.meta["description"] == "Write about the sea at night."
    assert tags.meta["canonical"].endswith(f"/competitions/{named}")

    tags = preview(api, f"/competitions/{named}/entries/{entry}")
    assert tags.meta["og:title"] == f"Night tide, by {writer.username}"
    assert tags.meta["og:type"] == "article"
    assert tags.meta["og:description"].startswith("The tide came in slowly. Then it went out")
    assert tags.meta["twitter:card"] == "summary"

    anonymous = create_competition(api, admin_account, unique("Masks "), anonymous=True)
    hidden = enter(api, writer, anonymous, "Behind the mask", "Nobody knew who wrote this.")
    tags = preview(api, f"/competitions/{anonymous}/entries/{hidden}")
    assert tags.meta["og:title"] == "Behind the mask"
    assert writer.username not in str(tags.meta) + tags.title

    tags = preview(api, f"/writers/{writer.user_id}")
    assert tags.meta["og:title"] == writer.username
    assert tags.meta["og:type"] == "profile"

    missing = api.get(f"/competitions/{named}/entries/{named}", headers={"Accept": BROWSER})
    assert missing.status_code == 404
    assert "<title>Story not found · litcomp</title>" in missing.text
    for odd, title in [
        ("/writers/not-an-id", "Writer not found"),
        ("/competitions/%F0%9F%93%9A", "Competition not found"),
        (f"/competitions/{named}/entries/{'9' * 2000}", "Story not found"),
    ]:
        answer = api.get(odd, headers={"Accept": BROWSER})
        assert answer.status_code == 404, odd
        assert f"<title>{title} · litcomp</title>" in answer.text


def test_the_sitemap_lists_what_anyone_may_read(api: httpx.Client, admin_account: Account) -> None:
    writer = sign_up(api, "mapped")
    competition = create_competition(api, admin_account, unique("Mapped "))
    entry = enter(api, writer, competition, "On the map", "Here be dragons.")
    hidden = create_competition(api, admin_account, unique("Unmapped "), anonymous=True)
    secret = enter(api, writer, hidden, "Not yet", "Whose is this?")
    sitemap = api.get("/sitemap.xml")  # made once here, then kept for ten minutes
    assert sitemap.status_code == 200
    urls = {url.text for url in ElementTree.fromstring(sitemap.content).iter(f"{SITEMAPS}loc")}
    assert f"{api.base_url}/competitions/{competition}" in {u.rstrip("/") for u in urls}
    assert any(u.endswith(f"/competitions/{competition}/entries/{entry}") for u in urls)
    assert any(u.endswith(f"/writers/{writer.user_id}") for u in urls)
    assert any(u.endswith(f"/competitions/{hidden}") for u in urls)
    assert not any(secret in u for u in urls)  # its writer is not shown yet


def test_the_home_page_says_what_litcomp_is_and_what_is_on(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    title = unique("Harbour lights ")
    competition = create_competition(
        # Closing within the hour: among the few closing soonest that the home page shows.
        api,
        admin_account,
        title,
        starts_in=timedelta(hours=-1),
        lasts=timedelta(hours=1, minutes=50),
    )
    writer = sign_up(api, "home")
    enter(api, writer, competition, "Gull", "A gull steals a chip.")
    create_competition(api, admin_account, unique("Later "), starts_in=timedelta(days=3650))
    page = people.open("newcomer")
    page.goto("/")
    expect(page.get_by_role("heading", name="How a contest works")).to_be_visible()
    card = page.locator(".competition-card", has_text=title)
    expect(card).to_contain_text("1 entry")
    expect(card).to_contain_text("Deadline")
    expect(card.locator("time").first).to_have_text(re.compile(r"\d"))
    expect(page.locator('[aria-labelledby="next-heading"] h3 a')).to_be_visible()
    expect(page.get_by_role("heading", name="Recent winners")).to_be_visible()
    card.get_by_role("link", name=title).click()
    expect(page).to_have_url(re.compile(f"/competitions/{competition}$"))


def test_form_problems_are_shown_next_to_their_fields_in_plain_words(people: People) -> None:
    page = people.open("newcomer")
    page.goto("/signup")
    page.get_by_label("Username").fill("not allowed!")
    page.get_by_label("Email").fill(f"{unique('plain')}@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()

    username = page.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description(
        re.compile("Use only letters, digits, dots, dashes and underscores")
    )
    expect(username).to_be_focused()
    password = page.get_by_label("Password")
    expect(password).to_have_accessible_description(re.compile("at least 8 characters"))
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(page.get_by_text("String should match pattern")).to_have_count(0)

    username.fill(unique("fixed"))
    password.fill("a long enough password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform whose gateway allows 2 logins at once and then one a minute, as a
    deployed one limits guessing (the shared browser platform allows any number)."""
    running = Platform.create(
        tmp_path_factory.mktemp("strict"),
        {"LITCOMP_GATEWAY_AUTH_BURST": "2", "LITCOMP_GATEWAY_AUTH_RATE_PER_MINUTE": "1"},
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_too_many_tries_say_how_long_to_wait(chromium: Browser, strict: Platform) -> None:
    context = chromium.new_context(base_url=strict.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email").fill("nobody@example.com")
        page.get_by_label("Password").fill("not the password")
        for _ in range(3):
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("button", name="Log in")).to_be_enabled()
        expect(page.get_by_role("alert")).to_have_text(
            re.compile(r"Too many tries in a short time\. Please wait \d+ seconds and try again\.")
        )
    finally:
        context.close()


def test_liking_and_commenting_keep_keyboard_users_in_place(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader_account = sign_up(api, "kept"), sign_up(api, "keen")
    competition = create_competition(api, admin_account, unique("Keys "))
    entry = enter(api, writer, competition, "Small print", "Read the small print.")
    page = people.open("reader")
    log_in(page, reader_account.email)
    page.goto(f"/competitions/{competition}/entries/{entry}")

    expect(page.get_by_text("null", exact=True)).to_have_count(0)  # no judging: nothing shown
    like = page.get_by_role("button", name="Like", exact=True)
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    liked = page.get_by_role("button", name="Liked", exact=True)
    expect(liked).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("1 like", exact=True)).to_be_visible()

    page.get_by_label("Add a comment").fill("Smaller than it looks.")
    page.get_by_role("button", name="Post comment").click()
    posted = page.get_by_role("article", name=f"Comment by {reader_account.username}")
    expect(posted).to_be_focused()
    expect(posted.locator("time")).to_have_text(re.compile(r"\d{4}.*(UTC|GMT)"))

    reply = page.get_by_role("button", name=f"Reply to {reader_account.username}")
    reply.click()
    box = page.get_by_label(f"Your reply to {reader_account.username}")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_have_count(0)
    expect(reply).to_be_focused()
    expect(reply).to_have_attribute("aria-expanded", "false")
