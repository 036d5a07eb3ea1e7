"""The other pages: results, profile, admin editing, and the notification socket
resuming after a drop."""

import re
from datetime import timedelta

import httpx
from playwright.sync_api import WebSocketRoute, expect

from tests.browser.conftest import People
from tests.browser.steps import bell, log_in, toast
from tests.support import Account, create_competition, sign_up, unique


def enter(api: httpx.Client, writer: Account, competition: str, title: str) -> str:
    response = api.post(
        f"/competitions/{competition}/submit",
        json={"title": title, "content": f"{title}, the whole story."},
        headers=writer.auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["submission_id"])


def like(api: httpx.Client, reader: Account, competition: str, submission: str) -> None:
    response = api.post(f"/competitions/{competition}/like/{submission}", headers=reader.auth)
    assert response.status_code == 200, response.text


def test_results_show_the_places_and_a_chart(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    first, second, reader = (sign_up(api, name) for name in ("first", "second", "fan"))
    # Open for a few seconds: enough to enter and like, then it finishes by itself.
    competition = create_competition(
        api,
        admin_account,
        unique("Haiku "),
        starts_in=timedelta(hours=-1),
        lasts=timedelta(hours=1, seconds=5),
    )
    loved = enter(api, first, competition, "Frog pond")
    other = enter(api, second, competition, "Autumn moon")
    like(api, reader, competition, loved)
    like(api, second, competition, loved)
    like(api, first, competition, other)

    page = people.open("results", phone=True)
    page.goto(f"/competitions/{competition}?sort=top")
    entries = page.locator(".entry-list h3")
    expect(entries).to_have_text(["Frog pond", "Autumn moon"])  # most liked first

    page.goto(f"/competitions/{competition}/results")
    # Until the end the page says when; then it shows the places without a reload.
    bars = page.locator(".bars li")
    expect(bars).to_have_count(2)
    expect(bars.nth(0)).to_contain_text("1st Frog pond")
    expect(bars.nth(0)).to_contain_text("2 likes")
    expect(bars.nth(1)).to_contain_text("2nd Autumn moon")
    widths = page.locator(".bar").evaluate_all("bars => bars.map(b => b.style.width)")
    assert widths == ["100%", "50%"]
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.nth(1)).to_contain_text(first.username)
    expect(rows.nth(2)).to_contain_text(second.username)


def test_profile_edits_and_subscriptions(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    me = sign_up(api, "profile")
    title = unique("Letters ")
    competition = create_competition(api, admin_account, title)
    page = people.open("profile")
    log_in(page, me.email)
    page.goto(f"/competitions/{competition}")
    page.get_by_role("button", name="Subscribe to new entries").click()
    expect(page.get_by_role("status").filter(has_text="Subscribed")).to_be_visible()

    page.get_by_role("link", name="My profile").click()
    expect(page.get_by_role("link", name=title)).to_be_visible()
    page.get_by_label("Bio").fill("I write <em>letters</em> nobody sends.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.locator(".profile .bio")).to_have_text("I write <em>letters</em> nobody sends.")

    page.get_by_role("button", name="Unsubscribe from new entries").click()
    expect(page.get_by_role("button", name="Subscribe to new entries")).to_be_visible()
    subscriptions = api.get("/users/profile/subscriptions", headers=me.auth).json()
    assert subscriptions == []


def test_an_admin_edits_a_competition(people: People, admin_account: Account) -> None:
    page = people.open("admin")
    log_in(page, admin_account.email)
    page.get_by_role("link", name="New competition").first.click()
    page.get_by_label("Title").fill(unique("Draft "))
    page.get_by_label("Opens").fill("2099-01-01T10:00")
    page.get_by_label("Entries close").fill("2099-01-08T10:00")
    page.get_by_role("button", name="Create competition").click()
    expect(page.get_by_text("Upcoming", exact=True)).to_be_visible()

    page.get_by_role("link", name="Edit competition").click()
    renamed = unique("Final ")
    page.get_by_label("Title").fill(renamed)
    page.get_by_label("Entries close").fill("2099-01-01T09:00")  # before it opens
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("End date must be after start date")

    page.get_by_label("Entries close").fill("2099-01-15T10:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name=renamed, level=1)).to_be_visible()


def test_notices_survive_a_dropped_socket(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "steady"), sign_up(api, "fan")
    competition = create_competition(api, admin_account, unique("Letters "))
    entry = enter(api, writer, competition, "Dear nobody")

    sockets: list[WebSocketRoute] = []

    def relay(socket: WebSocketRoute) -> None:
        socket.connect_to_server()  # pass everything through, but let the test cut it
        sockets.append(socket)

    page = people.open("writer")
    page.route_web_socket(re.compile(r"/ws\?"), relay)
    log_in(page, writer.email)
    expect(page.locator(".bell:not(.offline)")).to_be_visible()
    like(api, reader, competition, entry)
    expect(toast(page, re.compile("liked your entry"))).to_be_visible()

    sockets[-1].close(code=4000, reason="cut by the test")  # as a network drop would
    comment = api.post(
        f"/competitions/{competition}/comment/{entry}",
        json={"content": "Written while you were away"},
        headers=reader.auth,
    )
    assert comment.status_code == 201, comment.text

    expect(toast(page, re.compile("commented on your entry"))).to_be_visible()
    expect(bell(page, 2)).to_be_visible()
    assert len(sockets) == 2
    assert "after=1" in sockets[1].url  # resumed after the last notice it saw
    page.get_by_role("link", name="Notifications, 2 unread").click()
    expect(page.locator(".notice.unread")).to_have_count(2)  # marked new on the page
    expect(bell(page, 0)).to_be_visible()  # seeing them read them
