"""The reading queue in the browser: in a voting phase a voter reads the entries read
least first, their own left out, and sees which they have opened."""

import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, iso, sign_up, unique


def test_a_voter_reads_in_their_queue_and_sees_what_they_have_read(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writers = [sign_up(api, "queued") for _ in range(3)]
    voter = sign_up(api, "voter")
    entries_close = datetime.now(UTC) + timedelta(seconds=6)
    competition = create_competition(
        api,
        admin_account,
        unique("Queue "),
        starts_in=timedelta(seconds=-1),
        lasts=entries_close - datetime.now(UTC) + timedelta(seconds=1),
        voting_end_date=iso(entries_close + timedelta(hours=1)),
    )
    url = f"/competitions/{competition}"
    for n, author in enumerate([*writers, voter]):
        entered = api.post(
            f"{url}/submit",
            json={"title": f"Story {n}" if author is not voter else "My own", "content": "Once."},
            headers=author.auth,
        )
        assert entered.status_code == 201, entered.text

    page = people.open("voter")
    log_in(page, voter.email)
    page.goto(f"{url}")
    # Before voting the list is newest first, as for everyone.
    expect(page.get_by_role("link", name="Newest")).to_have_attribute("aria-current", "page")
    time.sleep(max(0.0, (entries_close - datetime.now(UTC)).total_seconds()) + 1.5)

    page.reload()
    order = page.get_by_role("navigation", name="Order of entries")
    expect(order.get_by_role("link", name="Reading queue")).to_have_attribute(
        "aria-current", "page"
    )
    cards = page.locator(".entry-card")
    expect(cards).to_have_count(3)  # their own left out
    expect(page.locator(".entry-list")).not_to_contain_text("My own")
    expect(page.locator(".read-mark")).to_have_count(0)

    first = cards.first.get_by_role("heading").inner_text()
    cards.first.get_by_role("link", name=first).click()
    expect(page.get_by_role("heading", name=first, level=1)).to_be_visible()
    page.go_back()

    expect(cards).to_have_count(3)
    read = page.locator(".entry-card.read")
    expect(read).to_have_count(1)
    expect(read).to_contain_text(first)
    expect(read.locator(".read-mark")).to_have_text("Read")
    expect(cards.last).to_contain_text(first)  # behind the two not read yet

    # The other orders stay a click away, and mark the read entry too.
    order.get_by_role("link", name="Newest").click()
    expect(order.get_by_role("link", name="Newest")).to_have_attribute("aria-current", "page")
    expect(cards).to_have_count(4)
    expect(page.locator(".entry-card.read")).to_contain_text(first)
    assert people.uncaught_errors() == {}
