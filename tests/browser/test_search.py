"""Searching from the header: stories, competitions and writers as tabs, the matches
highlighted, nothing a writer typed running, a link to each result, more on demand."""

import random
import re
import string

import httpx
from playwright.sync_api import Dialog, Route, expect

from tests.browser.conftest import People
from tests.support import Account, create_competition, sign_up

SCRIPT = "<script>window.pwned=1</script>"
IMAGE = "<img src=x onerror=window.pwned=2>"


def made_up() -> str:
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=8))


def test_search_from_the_header_finds_stories_competitions_and_writers(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    key = made_up()
    competition = create_competition(
        api, admin_account, f"The {key} prize", max_entries_per_user=30
    )
    writer = sign_up(api, "searched")
    bio = api.patch("/users/profile", json={"bio": f"Writes {key} tales"}, headers=writer.auth)
    assert bio.status_code == 200, bio.text
    for n in range(23):
        answer = api.post(
            f"/competitions/{competition}/submit",
            json={"title": f"Tale {n}", "content": f"A {key} {SCRIPT} {IMAGE} & more {n}"},
            headers=writer.auth,
        )
        assert answer.status_code == 201, answer.text

    page = people.open("reader")
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search litcomp")
    box.fill(key)
    box.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Search: {key}")
    results = page.locator(".search-result")
    expect(results).to_have_count(20)
    expect(page.locator("#search-count")).to_have_text("23 stories found")
    first = results.first
    expect(first.locator("mark").first).to_have_text(key)
    # Text, never markup (PostgreSQL's snippets leave out what looks like a tag).
    expect(first.locator(".snippet")).to_contain_text("window.pwned=1")
    expect(page.locator(".search-results script, .search-results img")).to_have_count(0)
    expect(first).to_contain_text(f"in The {key} prize")
    expect(first.get_by_role("link", name=writer.username)).to_be_visible()
    page.get_by_role("button", name="Show more").click()
    expect(results).to_have_count(23)
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    assert page.evaluate("window.pwned") is None and dialogs == []

    page.get_by_role("navigation", name="Search results by kind").get_by_role(
        "link", name="Competitions"
    ).click()
    found = page.locator(".search-result")
    expect(found).to_have_count(1)
    expect(found.locator("mark").first).to_have_text(key)
    found.get_by_role("link", name=f"The {key} prize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"The {key} prize")

    page.go_back()
    page.get_by_role("link", name="Writers").click()
    writers = page.locator(".search-result")
    expect(writers).to_have_count(1)
    expect(writers.locator("mark")).to_have_text(key)
    writers.get_by_role("link", name=writer.username).click()
    expect(page).to_have_url(re.compile(f"/writers/{writer.user_id}$"))


def test_typing_a_search_while_the_page_loads_keeps_the_focus_in_the_box(
    people: People,
) -> None:
    page = people.open("reader")
    lists = re.compile(r"/competitions\?status=")
    held: list[Route] = []
    page.route(lists, lambda route: held.append(route))  # held until the typing is done
    page.goto("/")
    for _ in range(100):
        if len(held) == 4:  # open, voting, upcoming and finished
            break
        page.wait_for_timeout(50)
    box = page.get_by_role("searchbox", name="Search litcomp")
    box.click()
    page.keyboard.type("unheard")
    for route in held:
        route.continue_()
    page.unroute(lists)

    expect(page.get_by_role("heading", name="Happening now")).to_be_visible()
    expect(box).to_be_focused()  # the loaded page did not take the focus to its heading
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search: unheard")
    expect(page.get_by_role("heading", level=1)).to_be_focused()


def test_a_search_nothing_matches_says_so(people: People) -> None:
    page = people.open("reader")
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search litcomp")
    box.fill('"unheard of" -words')
    box.press("Enter")
    expect(page.locator(".search-results")).to_contain_text("Nothing matches")


def test_the_competitions_list_shows_more_on_demand(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    for n in range(21):
        create_competition(api, admin_account, f"Crowded {n}")
    page = people.open("reader")
    page.goto("/competitions")
    cards = page.locator(".competition-card")
    expect(cards).to_have_count(20)
    page.get_by_role("button", name="Show more competitions").click()
    expect(cards.nth(20)).to_be_visible()
    links = cards.locator("h2 a").evaluate_all("links => links.map((a) => a.href)")
    assert len(links) > 20 and len(links) == len(set(links))  # no competition twice


def test_a_shared_search_address_opens_the_results(people: People) -> None:
    page = people.open("reader")
    page.goto("/search?q=%22unheard+of%22&type=writers")  # as a shared link: the gateway's page
    expect(page.get_by_role("heading", level=1)).to_have_text('Search: "unheard of"')
    tabs = page.get_by_role("navigation", name="Search results by kind")
    expect(tabs.get_by_role("link", name="Writers")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("searchbox", name="Search litcomp")).to_have_value('"unheard of"')
