"""People through the real gateway: uploaded profile pictures (as an attacker would send
them too), following writers, writer.published notices and public portfolios."""

import io
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from litcomp.kit.errors import MAX_BODY_BYTES, MAX_PICTURE_BYTES
from tests.support import Account, Platform, create_competition, expect_error, sign_up
from tests.unit.test_pictures import encoded, halves, png_bomb

Json = dict[str, Any]
PICTURE = "/users/profile/picture"


def upload(users: httpx.Client, who: Account, data: bytes, kind: str = "image/png") -> Any:
    return users.put(PICTURE, content=data, headers={**who.auth, "Content-Type": kind})


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: about 3 * side² bytes."""
    return encoded(Image.frombytes("RGB", (side, side), os.urandom(3 * side * side)), "PNG")


def test_an_uploaded_picture_is_served_from_the_platform_and_cached_for_good(
    users: httpx.Client, writer: Account
) -> None:
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    exif[0x0131] = "secret camera software"
    answer = upload(users, writer, encoded(halves(), "JPEG", exif=exif), "image/jpeg")
    assert answer.status_code == 200, answer.text
    url = answer.json()["profile_picture"]
    assert url.startswith(f"/users/{writer.user_id}/picture/") and url.endswith("/256")
    assert users.get("/users/profile", headers=writer.auth).json()["profile_picture"] == url
    assert users.get(f"/users/{writer.user_id}").json()["profile_picture"] == url

    served = users.get(url)  # no token: an <img> sends none
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert "immutable" in served.headers["cache-control"]
    assert "max-age=31536000" in served.headers["cache-control"]
    assert b"secret" not in served.content and b"Exif" not in served.content
    assert Image.open(io.BytesIO(served.content)).size == (256, 256)
    etag = served.headers["etag"]
    again = users.get(url, headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    small = users.get(url.removesuffix("/256") + "/64")
    assert Image.open(io.BytesIO(small.content)).size == (64, 64)
    for wrong in ("/128", "/0", "/-1", "/256x"):
        expect_error(users.get(url.removesuffix("/256") + wrong), 404)
    other_version = url.replace(url.split("/")[-2], "0" * 16)
    expect_error(users.get(other_version), 404)
    expect_error(users.get(url.replace(writer.user_id, "../../etc/passwd")), 404)

    # A new picture: a new URL; the old one is gone.
    changed = upload(
        users, writer, encoded(Image.new("RGB", (90, 90), "green"), "WEBP"), "image/webp"
    )
    new_url = changed.json()["profile_picture"]
    assert new_url != url
    expect_error(users.get(url), 404)
    assert users.get(new_url).status_code == 200

    removed = users.delete(PICTURE, headers=writer.auth)
    assert removed.json()["profile_picture"] == ""
    expect_error(users.get(new_url), 404)
    assert users.delete(PICTURE, headers=writer.auth).status_code == 200  # again: the same


def test_the_picture_route_has_a_larger_limit_than_every_other(
    users: httpx.Client, writer: Account
) -> None:
    big = noise_png(760)  # a real image over the 1 MiB every other route takes
    assert MAX_BODY_BYTES < len(big) <= MAX_PICTURE_BYTES
    answer = upload(users, writer, big)
    assert answer.status_code == 200, answer.text
    assert answer.json()["profile_picture"]
    elsewhere = users.patch(
        "/users/profile", content=big, headers={**writer.auth, "Content-Type": "application/json"}
    )
    expect_error(elsewhere, 413)
    # A query does not change the route; another spelling of the path gets the default.
    assert upload_to(users, writer, PICTURE + "?x=1", big).status_code == 200
    expect_error(upload_to(users, writer, PICTURE + "/", big), 413)


def upload_to(users: httpx.Client, who: Account, path: str, data: bytes) -> httpx.Response:
    return users.put(path, content=data, headers={**who.auth, "Content-Type": "image/png"})


def test_over_two_mib_is_413_declared_or_chunked(users: httpx.Client, writer: Account) -> None:
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(MAX_PICTURE_BYTES)
    error = expect_error(upload(users, writer, too_big), 413)
    assert error["code"] == "payload_too_large"
    assert str(MAX_PICTURE_BYTES) in str(error["message"])

    def chunks() -> Any:
        for _ in range(3):
            yield bytes(MAX_PICTURE_BYTES // 2)

    chunked = users.put(
        PICTURE, content=chunks(), headers={**writer.auth, "Content-Type": "image/png"}
    )
    expect_error(chunked, 413)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("text/plain", 415, "unsupported_media_type"),
        ("image/gif", 415, "unsupported_media_type"),
        ("image/svg+xml", 415, "unsupported_media_type"),
        ("application/json", 415, "unsupported_media_type"),
        ("", 415, "unsupported_media_type"),
        ("image/png; charset=utf-8", 200, None),
        ("IMAGE/JPEG", 200, None),  # the real type is decoded, not taken from the header
    ],
)
def test_the_content_type_must_name_one_of_the_three(
    users: httpx.Client, writer: Account, kind: str, status: int, code: str | None
) -> None:
    answer = upload(users, writer, encoded(halves(), "PNG"), kind)
    if code is None:
        assert answer.status_code == status, answer.text
    else:
        assert expect_error(answer, status)["code"] == code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_an_image"),
        (encoded(halves(), "PNG")[:200], "not_an_image"),
        (encoded(halves(), "GIF"), "not_an_image"),
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "not_an_image"),
        ("<svg onload=alert(1)>\u2028\U0001f600".encode(), "not_an_image"),
        (png_bomb(20_000), "image_too_large"),
    ],
    ids=["empty", "truncated", "gif", "png-html", "svg", "bomb-20000"],
)
def test_what_is_not_a_whole_image_is_refused(
    users: httpx.Client, writer: Account, data: bytes, code: str
) -> None:
    assert expect_error(upload(users, writer, data), 422)["code"] == code
    assert users.get("/users/profile", headers=writer.auth).json()["profile_picture"] == ""


def test_a_polyglot_is_stored_as_pixels_only(users: httpx.Client, writer: Account) -> None:
    data = encoded(halves(), "JPEG") + b"<html><script>alert(1)</script></html>"
    url = upload(users, writer, data, "image/jpeg").json()["profile_picture"]
    assert b"script" not in users.get(url).content


def test_no_one_changes_another_ones_picture(
    users: httpx.Client, writer: Account, reader: Account
) -> None:
    expect_error(users.put(PICTURE, content=encoded(halves(), "PNG")), 401)
    expect_error(users.delete(PICTURE), 401)
    url = upload(users, writer, encoded(halves(), "PNG")).json()["profile_picture"]
    assert users.delete(PICTURE, headers=reader.auth).json()["profile_picture"] == ""
    assert users.get(url).status_code == 200
    # Pointing one's own profile at another's picture is refused.
    taken = users.patch("/users/profile", json={"profile_picture": url}, headers=reader.auth)
    assert "upload" in str(expect_error(taken, 422)["details"])
    assert users.get(f"/users/{writer.user_id}").json()["profile_picture"] == url


def test_a_pasted_link_is_refused_saying_to_upload(users: httpx.Client, writer: Account) -> None:
    for link in ("https://example.com/me.png", "http://10.0.0.1/x.png", "javascript:alert(1)"):
        refused = users.patch("/users/profile", json={"profile_picture": link}, headers=writer.auth)
        error = expect_error(refused, 422)
        assert "upload" in str(error["details"])
    url = upload(users, writer, encoded(halves(), "PNG")).json()["profile_picture"]
    kept = users.patch(
        "/users/profile", json={"profile_picture": url, "bio": "Hi"}, headers=writer.auth
    )
    assert (kept.json()["profile_picture"], kept.json()["bio"]) == (url, "Hi")
    cleared = users.patch("/users/profile", json={"profile_picture": ""}, headers=writer.auth)
    assert cleared.json()["profile_picture"] == ""
    expect_error(users.get(url), 404)


def test_following_a_writer(users: httpx.Client, writer: Account, reader: Account) -> None:
    url = f"/users/follow/{writer.user_id}"
    for _ in range(2):  # again: the same
        assert users.post(url, headers=reader.auth).status_code == 200
    assert users.get(f"/users/{writer.user_id}", headers=reader.auth).json()["following"] is True
    assert users.get(f"/users/{writer.user_id}").json()["following"] is False
    assert users.get(f"/users/{writer.user_id}", headers=writer.auth).json()["following"] is False
    page = users.get("/users/profile/following", headers=reader.auth).json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 20, 0)
    [item] = page["items"]
    assert (item["user_id"], item["username"]) == (writer.user_id, writer.username)
    assert {"profile_picture", "bio", "created_at", "followed_at"} <= set(item)
    assert "email" not in item

    assert (
        expect_error(users.post(f"/users/follow/{reader.user_id}", headers=reader.auth), 409)[
            "code"
        ]
        == "own_account"
    )
    unknown = "00000000-0000-4000-8000-000000000000"
    expect_error(users.post(f"/users/follow/{unknown}", headers=reader.auth), 404)
    expect_error(users.delete(f"/users/follow/{unknown}", headers=reader.auth), 404)
    expect_error(users.post("/users/follow/not-a-uuid", headers=reader.auth), 404)
    expect_error(users.post(url), 401)
    expect_error(users.get("/users/profile/following"), 401)
    expect_error(users.get("/users/profile/following?limit=0", headers=reader.auth), 422)
    expect_error(users.get("/users/profile/following?offset=-1", headers=reader.auth), 422)

    for _ in range(2):
        assert users.delete(url, headers=reader.auth).status_code == 200
    assert users.get("/users/profile/following", headers=reader.auth).json()["total"] == 0


def test_the_following_list_is_paged_most_recent_first(
    users: httpx.Client, reader: Account
) -> None:
    writers = [sign_up(users, "paged") for _ in range(3)]
    for w in writers:
        assert users.post(f"/users/follow/{w.user_id}", headers=reader.auth).is_success
    first = users.get("/users/profile/following?limit=2", headers=reader.auth).json()
    second = users.get("/users/profile/following?limit=2&offset=2", headers=reader.auth).json()
    assert first["total"] == second["total"] == 3
    names = [i["username"] for i in first["items"] + second["items"]]
    assert names == [w.username for w in reversed(writers)]


def notices(competitions: httpx.Client, who: Account, kind: str) -> list[Json]:
    answer = competitions.get("/notifications?limit=100", headers=who.auth)
    return [n for n in answer.json()["items"] if n["type"] == kind]


def eventually(found: Any, timeout: float = 10) -> list[Json]:
    deadline = time.monotonic() + timeout
    while not (seen := found()) and time.monotonic() < deadline:
        time.sleep(0.2)
    result: list[Json] = seen
    return result


def enter(competitions: httpx.Client, competition_id: str, who: Account, title: str) -> str:
    answer = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": title, "content": "Once upon a time."},
        headers=who.auth,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["submission_id"])


def test_followers_hear_of_an_entry_at_once_and_subscribers_only_once(
    users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account
) -> None:
    follower, both, bystander = (sign_up(users, name) for name in ("fan", "both", "other"))
    competition_id = create_competition(competitions, admin, "Open names")
    for who in (follower, both):
        assert users.post(f"/users/follow/{writer.user_id}", headers=who.auth).is_success
    assert users.post(f"/users/subscribe/{competition_id}", headers=both.auth).is_success
    entry = enter(competitions, competition_id, writer, "Named tale")

    [told] = eventually(lambda: notices(competitions, follower, "writer.published"))
    assert told["data"] == {
        "competition_id": competition_id,
        "competition_title": "Open names",
        "submission_id": entry,
        "submission_title": "Named tale",
        "actor_id": writer.user_id,
        "actor_username": writer.username,
    }
    [created] = eventually(lambda: notices(competitions, both, "submission.created"))
    assert created["data"]["submission_id"] == entry
    time.sleep(1)  # both jobs are done by now: the follower's notice has come
    assert notices(competitions, both, "writer.published") == []
    assert notices(competitions, bystander, "writer.published") == []
    assert notices(competitions, writer, "writer.published") == []


def test_an_anonymous_entry_is_told_to_followers_at_the_results_and_never_a_disqualified_one(
    users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account
) -> None:
    follower = sign_up(users, "fan")
    cheat = sign_up(users, "cheat")
    for who in (writer, cheat):
        assert users.post(f"/users/follow/{who.user_id}", headers=follower.auth).is_success
    start = datetime.now(UTC)
    competition_id = create_competition(
        competitions,
        admin,
        "Masked names",
        starts_in=timedelta(seconds=-1),
        lasts=timedelta(seconds=4),
        anonymous=True,
    )
    entry = enter(competitions, competition_id, writer, "Masked tale")
    copied = enter(competitions, competition_id, cheat, "Copied tale")
    disqualified = competitions.post(
        f"/competitions/{competition_id}/submissions/{copied}/disqualify",
        json={"reason": "Copied"},
        headers=admin.auth,
    )
    assert disqualified.status_code == 200, disqualified.text
    time.sleep(1.5)
    assert notices(competitions, follower, "writer.published") == []  # not before the results

    time.sleep(max(0.0, (start + timedelta(seconds=4) - datetime.now(UTC)).total_seconds()) + 0.5)
    assert competitions.get(f"/competitions/{competition_id}/results").status_code == 200
    [told] = eventually(lambda: notices(competitions, follower, "writer.published"))
    assert (told["data"]["submission_id"], told["data"]["actor_username"]) == (
        entry,
        writer.username,
    )
    time.sleep(1)
    assert len(notices(competitions, follower, "writer.published")) == 1  # not the cheat's


def test_a_public_profile_lists_revealed_entries_places_and_medals(
    users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account
) -> None:
    rival, reader = sign_up(users, "rival"), sign_up(users, "liker")
    start = datetime.now(UTC)
    won = create_competition(
        competitions, admin, "Won", starts_in=timedelta(seconds=-1), lasts=timedelta(seconds=4)
    )
    masked = create_competition(competitions, admin, "Still masked", anonymous=True)
    running = create_competition(competitions, admin, "Running", max_entries_per_user=2)
    first = enter(competitions, won, writer, "Winner")
    enter(competitions, won, rival, "Runner-up")
    assert competitions.post(f"/competitions/{won}/like/{first}", headers=reader.auth).is_success
    enter(competitions, masked, writer, "Hidden one")
    later = enter(competitions, running, writer, "Fresh one")
    out = enter(competitions, running, writer, "Disqualified one")
    assert competitions.post(
        f"/competitions/{running}/submissions/{out}/disqualify",
        json={"reason": "No"},
        headers=admin.auth,
    ).is_success

    time.sleep(max(0.0, (start + timedelta(seconds=4) - datetime.now(UTC)).total_seconds()) + 0.5)
    assert competitions.get(f"/competitions/{won}/results").status_code == 200
    profile = users.get(f"/users/{writer.user_id}").json()
    assert [
        (e["competition_title"], e["title"], e["place"], e["likes"]) for e in profile["entries"]
    ] == [
        ("Running", "Fresh one", None, 0),
        ("Won", "Winner", 1, 1),
    ]
    assert profile["entries"][0]["submission_id"] == later
    assert profile["medals"] == {"first": 1, "second": 0, "third": 0}
    assert users.get(f"/users/{rival.user_id}").json()["medals"] == {
        "first": 0,
        "second": 1,
        "third": 0,
    }
    assert "Hidden one" not in str(
        users.get(f"/users/{writer.user_id}", headers=writer.auth).json()
    )


def test_the_served_picture_passes_the_gateway_unchanged(
    platform: Platform, users: httpx.Client, writer: Account
) -> None:
    url = upload(users, writer, encoded(halves(), "PNG")).json()["profile_picture"]
    through_gateway = users.get(url)
    assert through_gateway.headers["x-content-type-options"] == "nosniff"
    assert through_gateway.content[:4] == b"RIFF" and through_gateway.content[8:12] == b"WEBP"
