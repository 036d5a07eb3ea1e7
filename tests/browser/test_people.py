"""People in the browser: a picture uploaded and shown from the platform's own origin,
a writer's public page (picture and name once, medals, entries), and following a
writer, whose new entry the follower is told of live."""

import io

import httpx
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import People
from tests.browser.steps import log_in, toast
from tests.support import Account, create_competition, sign_up, unique


def png(colour: str, size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def loaded_from_this_origin(page: Page, selector: str) -> bool:
    """Whether the image at ``selector`` loads (256 pixels wide), from the page's origin."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth; }",
        arg=selector,
    )
    return bool(
        page.locator(selector).evaluate(
            "img => img.naturalWidth === 256 && new URL(img.currentSrc).origin === location.origin"
        )
    )


def test_a_writer_uploads_a_picture_that_everyone_sees(people: People, api: httpx.Client) -> None:
    writer = sign_up(api, "painter")
    page = people.open("writer")
    log_in(page, writer.email)
    page.get_by_role("link", name="My profile").click()
    expect(page.get_by_role("heading", name="Your picture")).to_be_visible()

    page.get_by_label("Picture", exact=True).set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    expect(page.get_by_role("alert")).to_contain_text("Choose a JPEG, PNG or WebP image.")
    page.get_by_label("Picture", exact=True).set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": png("teal")}]
    )
    expect(page.get_by_role("img", name="Preview of the chosen picture")).to_be_visible()
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_text("Your picture is uploaded.")).to_be_visible()
    card_picture = page.locator(".profile img.avatar")
    expect(card_picture).to_be_visible()
    assert loaded_from_this_origin(page, ".profile img.avatar")

    visitor = people.open("visitor")
    visitor.goto(f"/writers/{writer.user_id}")
    expect(visitor.get_by_role("heading", name=writer.username, level=1)).to_be_visible()
    expect(visitor.get_by_role("img", name=f"Picture of {writer.username}")).to_have_count(1)
    assert loaded_from_this_origin(visitor, "main img.avatar")
    expect(visitor.locator("main").get_by_text(writer.username, exact=True)).to_have_count(1)

    page.get_by_role("button", name="Remove picture").click()
    expect(page.get_by_text("Your picture is removed.")).to_be_visible()
    expect(page.locator(".profile img.avatar")).to_have_count(0)
    expect(page.locator(".profile .avatar.placeholder")).to_be_visible()


def test_following_a_writer_brings_their_new_entry_live(
    people: People, api: httpx.Client, admin_account: Account
) -> None:
    writer, reader = sign_up(api, "author"), sign_up(api, "fan")
    competition = create_competition(api, admin_account, unique("Harbours "))
    page = people.open("reader")
    log_in(page, reader.email)
    page.goto(f"/writers/{writer.user_id}")
    expect(page.get_by_role("heading", name=writer.username, level=1)).to_be_visible()
    expect(page.get_by_text("No entries to show yet.")).to_be_visible()
    page.get_by_role("button", name=f"Follow {writer.username}").click()
    expect(page.get_by_role("button", name=f"Unfollow {writer.username}")).to_have_attribute(
        "aria-pressed", "true"
    )

    title = unique("Low tide ")
    entered = api.post(
        f"/competitions/{competition}/submit",
        json={"title": title, "content": "The boats lay on their sides."},
        headers=writer.auth,
    )
    assert entered.status_code == 201, entered.text
    notice = toast(page, f"{writer.username}, whom you follow, published “{title}”")
    expect(notice).to_be_visible()
    notice.click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()

    page.goto(f"/writers/{writer.user_id}")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    page.get_by_role("link", name="My profile").click()
    following = page.get_by_role("region", name="Writers you follow")
    expect(following.get_by_role("link", name=writer.username)).to_be_visible()
    following.get_by_role("button", name=f"Unfollow {writer.username}").click()
    expect(following.get_by_text(f"You no longer follow {writer.username}.")).to_be_visible()
    assert api.get("/users/profile/following", headers=reader.auth).json()["total"] == 0
