"""Moderation in the browser: a reader reports, an admin acts from the moderation page,
and the people affected see what happened and why; writers edit and delete their own
comments."""

import re
import time

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, sign_up, unique


def _entry_with_comment(
    api: httpx.Client, admin: Account, writer: Account, commenter: Account, comment: str
) -> tuple[str, str]:
    competition = create_competition(api, admin, unique("Moderated "))
    url = f"/competitions/{competition}"
    entered = api.post(
        f"{url}/submit",
        json={"title": "Suspicious", "content": "Borrowed words."},
        headers=writer.auth,
    ).json()
    api.post(
        f"{url}/comment/{entered['submission_id']}",
        json={"content": comment},
        headers=commenter.auth,
    )
    return competition, f"{url}/entries/{entered['submission_id']}"


def test_a_report_reaches_the_moderators_who_hide_the_comment(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, troll, reader = sign_up(api, "target"), sign_up(api, "troll"), sign_up(api, "witness")
    _, entry = _entry_with_comment(api, admin_account, writer, troll, "You write badly, go away")

    page = people.open("witness")
    log_in(page, reader.email)
    page.goto(entry)
    comment = page.get_by_role("article", name=f"Comment by {troll.username}")
    comment.get_by_role("button", name=f"Report the comment by {troll.username}").click()
    form = page.get_by_role("form", name=f"Report the comment by {troll.username}")
    form.get_by_label("Why?").select_option("abuse")
    form.get_by_label("Anything the moderators should know").fill("Insults the writer")
    form.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you: the moderators will look at it.")).to_be_visible()

    moderator = people.open("moderator")
    log_in(moderator, admin_account.email)
    moderator.get_by_role("link", name="Moderation").click()
    card = moderator.locator(".report-card").filter(has_text="You write badly")
    expect(card).to_contain_text("Reporter says: Insults the writer")
    card.get_by_role("button", name="Hide the comment").click()
    expect(card.get_by_role("alert")).to_contain_text("Please give a reason")
    card.get_by_label("Reason").fill("Personal attack")
    card.get_by_role("button", name="Hide the comment").click()
    expect(moderator.locator(".report-card").filter(has_text="You write badly")).to_have_count(0)
    moderator.get_by_role("link", name="Audit log").click()
    expect(moderator.get_by_role("table")).to_contain_text("hide comment")
    expect(moderator.get_by_role("table")).to_contain_text("Personal attack")

    page.reload()
    expect(page.get_by_text("Removed by a moderator.", exact=True)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("You write badly")
    author = people.open("troll")
    log_in(author, troll.email)
    author.goto(entry)
    expect(author.get_by_text("Removed by a moderator. Reason: Personal attack")).to_be_visible()


def test_a_disqualified_writer_sees_why_and_readers_no_longer_find_it(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "copier"), sign_up(api, "noticer")
    competition, entry = _entry_with_comment(api, admin_account, writer, reader, "Seen this before")
    submission = entry.rsplit("/", 1)[1]
    api.post(
        f"/competitions/{competition}/submissions/{submission}/report",
        json={"reason": "plagiarism", "text": "From a famous novel"},
        headers=reader.auth,
    )
    moderator = people.open("moderator")
    log_in(moderator, admin_account.email)
    moderator.goto("/moderation")
    card = moderator.locator(".report-card").filter(has_text="From a famous novel")
    card.get_by_label("Reason").fill("Copied from a published novel")
    card.get_by_role("button", name="Disqualify the entry").click()
    expect(moderator.locator(".report-card").filter(has_text="From a famous novel")).to_have_count(
        0
    )

    own = people.open("copier")
    log_in(own, writer.email)
    own.goto(entry)
    expect(own.get_by_role("alert")).to_contain_text(
        "Disqualified by a moderator: Copied from a published novel"
    )
    own.goto("/notifications")
    expect(
        own.get_by_text("was disqualified by a moderator: Copied from a published novel")
    ).to_be_visible()
    other = people.open("noticer")
    log_in(other, reader.email)
    other.goto(f"/competitions/{competition}")
    expect(other.get_by_text("No entries yet.")).to_be_visible()


def test_writers_edit_and_delete_their_own_comments(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, commenter = sign_up(api, "host"), sign_up(api, "chatty")
    _, entry = _entry_with_comment(api, admin_account, writer, commenter, "Frist comment")
    page = people.open("chatty")
    log_in(page, commenter.email)
    page.goto(entry)
    comment = page.get_by_role("article", name=f"Comment by {commenter.username}")
    comment.get_by_role("button", name="Edit").click()
    comment.get_by_label("Your comment").fill("First comment, *fixed*")
    comment.get_by_role("button", name="Save").click()
    expect(comment.locator(".comment-text em")).to_have_text("fixed")
    expect(comment).to_contain_text("edited")
    comment.get_by_role("button", name="Delete").click()
    comment.get_by_role("button", name="Delete it").click()
    expect(page.get_by_text("No comments yet.")).to_be_visible()


def test_suspensions_are_in_the_audit_log_with_a_link_to_the_user(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    suspended = sign_up(api, "suspended")
    url = f"/users/{suspended.user_id}/suspend"
    api.post(url, json={"reason": "Sock puppet"}, headers=admin_account.auth)
    api.delete(url, headers=admin_account.auth)
    deadline = time.monotonic() + 15  # the users service sends them asynchronously
    while (
        sum(
            row["target_id"] == suspended.user_id
            for row in api.get("/moderation/actions", headers=admin_account.auth).json()["items"]
        )
        < 2
    ):
        assert time.monotonic() < deadline, "the suspension did not reach the audit log"
        time.sleep(0.1)

    moderator = people.open("moderator")
    log_in(moderator, admin_account.email)
    moderator.get_by_role("link", name="Moderation").click()
    moderator.get_by_role("link", name="Audit log").click()
    target = moderator.get_by_role("link", name=f"user {suspended.user_id[:8]}")
    rows = moderator.get_by_role("row").filter(has=target)
    expect(rows).to_have_count(2)  # newest first
    expect(rows.nth(0)).to_contain_text("lift suspension")
    expect(rows.nth(1)).to_contain_text("suspend user")
    expect(rows.nth(1)).to_contain_text("Sock puppet")
    rows.nth(1).get_by_role("link", name=f"user {suspended.user_id[:8]}").click()
    expect(moderator).to_have_url(re.compile(f"/writers/{suspended.user_id}$"))
