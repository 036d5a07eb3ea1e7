"""Entries and comments written in Markdown, as readers see them: formatted, with
nothing a writer typed running in the page, and with their word counts."""

import httpx
from playwright.sync_api import Dialog, expect

from litcomp.competitions.words import word_count
from tests.browser.conftest import People
from tests.browser.steps import log_in
from tests.support import Account, create_competition, sign_up, unique

SCRIPT = "<script>window.pwned=1</script>"
IMAGE = "<img src=x onerror=window.pwned=2>"
# Over a thousand words, so the count shows its thousands separator.
STORY = (
    f"# Night trains\n\nIt left at *midnight*, and **nobody** saw it go.\n{SCRIPT}\n\n"
    f"> The clock said so.\n\n***\n\n{IMAGE}\n\n" + "All the way down the line. " * 200
)
COMMENT = f"I *loved* the ending {IMAGE} {SCRIPT}\n\n- the clock\n- the **train**"


def test_markdown_is_formatted_and_nothing_typed_runs(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "markdown"), sign_up(api, "reads")
    competition = create_competition(api, admin_account, unique("Markdown "))
    # The entry goes in through the API (the entry form is another test's), the
    # comment through the page.
    response = api.post(
        f"/competitions/{competition}/submit",
        json={"title": "Night trains", "content": STORY},
        headers=writer.auth,
    )
    assert response.status_code == 201, response.text
    words = f"{word_count(STORY):,} words"
    assert words.startswith("1,")

    page = people.open("reader")
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    failed: list[str] = []
    page.on("response", lambda answer: failed.append(answer.url) if answer.status >= 400 else None)
    log_in(page, reader.email)
    page.goto(f"/competitions/{competition}")
    card = page.locator(".entry-list li").filter(has_text="Night trains")
    expect(card).to_contain_text(words)

    card.get_by_role("link", name="Night trains").click()
    prose = page.locator(".prose")
    expect(prose.locator("h1")).to_have_text("Night trains")
    expect(prose.locator("em")).to_have_text("midnight")
    expect(prose.locator("strong")).to_have_text("nobody")
    expect(prose.locator("blockquote")).to_have_text("The clock said so.")
    expect(prose.locator("hr")).to_have_count(1)
    expect(prose).to_contain_text(SCRIPT)  # typed HTML is shown as the text it is
    expect(prose).to_contain_text(IMAGE)
    expect(page.locator("article.entry .meta")).to_contain_text(words)

    page.get_by_label("Add a comment").fill(COMMENT)
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Your comment is posted.")).to_be_visible()
    said = page.locator(".comment-text")
    expect(said.locator("em")).to_have_text("loved")
    expect(said.locator("li")).to_have_text(["the clock", "the train"])
    expect(said.locator("strong")).to_have_text("train")
    expect(said).to_contain_text(IMAGE)

    # Nothing typed became an element, ran, or troubled the page.
    expect(page.locator("main script, main img, main iframe, main [onerror]")).to_have_count(0)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []
    # The only failed request is the entry form's look for a draft of the reader's
    # (none: 404), which Chromium logs as an error; nothing else is.
    assert {url.rsplit("/", 1)[-1] for url in failed} <= {"draft"}
    not_found = "error: Failed to load resource: the server responded with a status of 404"
    errors = [line for line in people.opened[0].console if line.startswith("error")]
    assert [line.partition(" (")[0] for line in errors] == [not_found] * len(failed)
    assert people.uncaught_errors() == {}

    # The writer's profile lists the entry with its count.
    writer_page = people.open("writer")
    log_in(writer_page, writer.email)
    writer_page.get_by_role("link", name="My profile").click()
    mine = writer_page.locator("li").filter(has_text="Night trains")
    expect(mine).to_contain_text(words)
