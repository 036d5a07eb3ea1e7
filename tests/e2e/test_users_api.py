"""The users API, walked as a client would, against real processes on PostgreSQL."""

from datetime import UTC, datetime, timedelta

import httpx

from tests.support import (
    PASSWORD,
    Account,
    create_competition,
    expect_error,
    sign_up,
    unique,
)


def test_register_answers_with_the_new_account(users: httpx.Client):
    username = unique("Ada")
    response = users.post(
        "/users/register",
        json={"username": username, "email": f"{username}@Example.com", "password": PASSWORD},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user_id", "username", "email", "created_at"}
    assert body["username"] == username
    assert body["email"] == f"{username}@example.com"  # the domain is normalised, not the rest
    created = datetime.fromisoformat(body["created_at"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)


def test_usernames_and_emails_are_unique_whatever_their_case(users: httpx.Client):
    username = unique("case")
    email = f"{username}@example.com"
    first = {"username": username, "email": email, "password": PASSWORD}
    assert users.post("/users/register", json=first).status_code == 201

    same_email = {"username": unique("other"), "email": email.upper(), "password": PASSWORD}
    error = expect_error(users.post("/users/register", json=same_email), 409)
    assert error["details"] == {"fields": ["email"]}

    same_name = {"username": username.upper(), "email": f"x{email}", "password": PASSWORD}
    error = expect_error(users.post("/users/register", json=same_name), 409)
    assert error["details"] == {"fields": ["username"]}


def test_case_insensitive_beyond_ascii(users: httpx.Client):
    name = unique("jörg")
    upper = f"{name.upper()}@example.com"
    body = {"username": unique("jorg"), "email": upper, "password": PASSWORD}
    assert users.post("/users/register", json=body).status_code == 201
    twin = {"username": unique("twin"), "email": upper.lower(), "password": PASSWORD}
    assert expect_error(users.post("/users/register", json=twin), 409)["details"] == {
        "fields": ["email"]
    }
    for spelling in (upper, upper.lower()):
        login = users.post("/users/login", json={"email": spelling, "password": PASSWORD})
        assert login.status_code == 200, spelling


def test_register_refuses_bad_input(users: httpx.Client):
    good = {"username": unique("ok"), "email": "ok@example.com", "password": PASSWORD}
    cases = {
        "email": {**good, "email": "not-an-email"},
        "password": {**good, "password": "short"},
        "username": {**good, "username": "has spaces!"},
    }
    for field, body in cases.items():
        error = expect_error(users.post("/users/register", json=body), 422)
        assert any(field in d["location"] for d in error["details"]), error  # type: ignore[union-attr]
    missing = {"username": unique("m"), "password": PASSWORD}
    expect_error(users.post("/users/register", json=missing), 422)
    malformed = users.post(
        "/users/register", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    assert expect_error(malformed, 400)["code"] == "bad_request"


def test_bodies_over_one_mebibyte_are_refused(users: httpx.Client):
    huge = {"username": "x", "email": "x@example.com", "password": "p" * (1024 * 1024)}
    assert (
        expect_error(users.post("/users/register", json=huge), 413)["code"] == "payload_too_large"
    )


def test_login_issues_a_token_for_an_hour(users: httpx.Client, writer: Account):
    response = users.post("/users/login", json={"email": writer.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    # The brief's fields, and the refresh token that renews the session (a month).
    assert set(body) == {"token", "user_id", "expires_at", "refresh_token", "refresh_expires_at"}
    assert body["user_id"] == writer.user_id
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    refresh_expires = datetime.fromisoformat(body["refresh_expires_at"])
    assert timedelta(days=29) < refresh_expires - datetime.now(UTC) <= timedelta(days=30)


def test_login_with_the_email_in_another_case(users: httpx.Client, writer: Account):
    response = users.post(
        "/users/login", json={"email": writer.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


def test_login_refuses_wrong_credentials_alike(users: httpx.Client, writer: Account):
    wrong_password = users.post("/users/login", json={"email": writer.email, "password": "nope"})
    unknown = users.post("/users/login", json={"email": "nobody@example.com", "password": "nope"})
    assert expect_error(wrong_password, 401) == expect_error(unknown, 401)


def test_profile_is_private_and_complete(users: httpx.Client, writer: Account):
    response = users.get("/users/profile", headers=writer.auth)
    assert response.status_code == 200
    body = response.json()
    assert {"user_id", "username", "email", "profile_picture", "bio", "created_at"} <= set(body)
    assert body["user_id"] == writer.user_id
    assert body["email"] == writer.email
    assert body["role"] == "user"
    assert expect_error(users.get("/users/profile"), 401)["code"] == "unauthorized"


def test_edit_profile(users: httpx.Client, writer: Account):
    bio = "Writes at night.\n  Keeps  the spaces. <b>not html</b> ✍️"
    response = users.patch("/users/profile", json={"bio": bio}, headers=writer.auth)
    assert response.status_code == 200
    assert response.json()["bio"] == bio
    assert response.json()["profile_picture"] == ""
    assert users.get("/users/profile", headers=writer.auth).json()["bio"] == bio

    # Pictures are uploaded (tests/e2e/test_people.py), never linked.
    linked = {"profile_picture": "https://example.com/me.png"}
    expect_error(users.patch("/users/profile", json=linked, headers=writer.auth), 422)
    bad = {"profile_picture": "javascript:alert(1)"}
    expect_error(users.patch("/users/profile", json=bad, headers=writer.auth), 422)
    expect_error(
        users.patch("/users/profile", json={"email": "x@example.com"}, headers=writer.auth), 422
    )
    expect_error(users.patch("/users/profile", json={"bio": "x" * 2001}, headers=writer.auth), 422)
    expect_error(users.patch("/users/profile", json={"bio": "a\x00b"}, headers=writer.auth), 422)
    too_long = {"profile_picture": "https://example.com/" + "p" * 2048}
    expect_error(users.patch("/users/profile", json=too_long, headers=writer.auth), 422)


def test_public_profile_has_no_email(users: httpx.Client, writer: Account):
    response = users.get(f"/users/{writer.user_id}")
    assert response.status_code == 200
    assert response.json()["username"] == writer.username
    assert "email" not in response.json()
    assert "role" not in response.json()


def test_unknown_or_malformed_user_ids_are_not_found(users: httpx.Client):
    expect_error(users.get("/users/00000000-0000-0000-0000-000000000000"), 404)
    expect_error(users.get("/users/not-a-uuid"), 404)


def test_subscribe_and_unsubscribe(
    users: httpx.Client, competitions: httpx.Client, admin: Account, reader: Account
):
    open_one = create_competition(competitions, admin, "Open")
    upcoming = create_competition(competitions, admin, "Later", starts_in=timedelta(days=1))
    for competition_id in (open_one, upcoming):
        response = users.post(f"/users/subscribe/{competition_id}", headers=reader.auth)
        assert response.status_code == 200
        assert response.json() == {"message": "Subscription successful"}
    again = users.post(f"/users/subscribe/{open_one}", headers=reader.auth)
    assert again.json() == {"message": "Subscription successful"}

    listed = users.get("/users/profile/subscriptions", headers=reader.auth).json()
    assert [c["competition_id"] for c in listed] == [upcoming, open_one]
    assert set(listed[0]) >= {"competition_id", "title", "description", "start_date", "end_date"}
    assert listed[0]["title"] == "Later"

    gone = users.delete(f"/users/subscribe/{upcoming}", headers=reader.auth)
    assert gone.status_code == 200
    listed = users.get("/users/profile/subscriptions", headers=reader.auth).json()
    assert [c["competition_id"] for c in listed] == [open_one]


def test_subscribe_needs_an_existing_unfinished_competition(users: httpx.Client, reader: Account):
    unknown = "00000000-0000-0000-0000-000000000000"
    expect_error(users.post(f"/users/subscribe/{unknown}", headers=reader.auth), 404)
    expect_error(users.post("/users/subscribe/nonsense", headers=reader.auth), 404)
    expect_error(users.post(f"/users/subscribe/{unknown}"), 401)


def test_profile_lists_my_submissions(
    users: httpx.Client, competitions: httpx.Client, admin: Account
):
    author = sign_up(users, "author")
    competition_id = create_competition(competitions, admin, "Poems")
    content = "Line one\n\n  indented line — ünïcode\t"
    submitted = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "My poem", "content": content},
        headers=author.auth,
    )
    assert submitted.status_code == 201
    mine = users.get("/users/profile/submissions", headers=author.auth).json()
    assert mine == [
        {
            "submission_id": submitted.json()["submission_id"],
            "competition_id": competition_id,
            "title": "My poem",
            "content": content,
            "word_count": 5,
            "created_at": mine[0]["created_at"],
        }
    ]
