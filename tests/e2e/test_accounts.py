"""Sessions and accounts through the real gateway: rotating refresh tokens (and a
stolen one ending its session), password change and reset by mail, address
verification and change, with a real SMTP server in the test process reading what
the platform sent, an SMTP outage, and the .eml files of the embedded default."""

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest

from litcomp.launcher import wait_until
from tests.support import (
    PASSWORD,
    Account,
    Platform,
    create_competition,
    expect_error,
    log_in,
    unique,
)
from tests.support.mailbox import Mailbox, html_of, link_in, text_of, token_in

NEW_PASSWORD = "a brand new passphrase"
ODD = ["", " ", "\u202e\u0000", "x" * 5000, "\ud800", "é" * 300]


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> str:
    return make_database("accounts_users")


@pytest.fixture(scope="module")
def mailing(
    mailbox: Mailbox,
    database: str,
    make_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """A platform that mails over SMTP to ``mailbox``, and where entering needs a
    verified address (as in production)."""
    running = Platform.create(
        tmp_path_factory.mktemp("accounts"),
        {
            "LITCOMP_USERS_DATABASE_URL": database,
            "LITCOMP_COMPETITIONS_DATABASE_URL": make_database("accounts_competitions"),
            "LITCOMP_SMTP_URL": mailbox.url,
            "LITCOMP_REQUIRE_VERIFIED_EMAIL": "true",
            "LITCOMP_MAIL_POLL_SECONDS": "0.5",
        },
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(mailing: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mailing.url, timeout=10) as http:
        yield http


def send(
    client: httpx.Client, path: str, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST ``body`` as JSON, escaping what UTF-8 cannot hold (a lone surrogate) as JSON can."""
    content = b"" if body is None else json.dumps(body).encode()
    return client.post(
        path, content=content, headers={"Content-Type": "application/json", **(headers or {})}
    )


def sql(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    return asyncio.run(run())


def register(client: httpx.Client) -> tuple[str, str]:
    username = unique("acct")
    email = f"{username}@example.com"
    body = {"username": username, "email": email, "password": PASSWORD}
    assert send(client, "/users/register", body).status_code == 201
    return username, email


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = send(client, "/users/login", {"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['token']}"}


def refresh(client: httpx.Client, refresh_token: object) -> httpx.Response:
    return send(client, "/users/token/refresh", {"refresh_token": refresh_token})


# Refresh tokens


def test_login_gives_a_refresh_token_that_rotates(client: httpx.Client) -> None:
    _, email = register(client)
    first = login(client, email)
    assert set(first) == {"token", "user_id", "expires_at", "refresh_token", "refresh_expires_at"}
    renewed = refresh(client, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user_id"] == first["user_id"]
    assert client.get("/users/profile", headers=bearer(second)).status_code == 200
    claims = [jwt.decode(t["token"], options={"verify_signature": False}) for t in (first, second)]
    assert claims[0]["sid"] == claims[1]["sid"]  # one session
    assert claims[0]["ev"] is False


def test_a_rotated_token_used_again_ends_the_whole_session(client: httpx.Client) -> None:
    _, email = register(client)
    stolen = login(client, email)["refresh_token"]
    owner = refresh(client, stolen).json()["refresh_token"]
    error = expect_error(refresh(client, stolen), 401)  # the thief, after the owner
    assert error["code"] == "refresh_token_reused"
    assert expect_error(refresh(client, owner), 401)["code"] == "invalid_refresh_token"
    other = login(client, email)  # another session is untouched, and a new login works
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_bad_refresh_tokens_are_refused(client: httpx.Client) -> None:
    _, email = register(client)
    good = login(client, email)["refresh_token"]
    token_id, _, mac = good.partition(".")
    forged = [
        f"{token_id}.{'A' * len(mac)}",
        f"{uuid.uuid4().hex}.{mac}",
        f"{token_id.upper()}.{mac}",
        token_id,
        "not a token",
        "é.é",
    ]
    for token in forged:
        assert expect_error(refresh(client, token), 401)["code"] == "invalid_refresh_token"
    for odd in ["", "x" * 201, "\ud800", None, 12, ["a"]]:
        expect_error(refresh(client, odd), 422)
    expect_error(send(client, "/users/token/refresh", {}), 422)
    expect_error(send(client, "/users/token/refresh", {"refresh_token": good, "x": 1}), 422)
    assert refresh(client, good).status_code == 200  # none of that hurt the real one


def test_logout_ends_the_session_and_is_idempotent(client: httpx.Client) -> None:
    _, email = register(client)
    tokens = login(client, email)
    for _ in range(2):
        logout = send(client, "/users/logout", {"refresh_token": tokens["refresh_token"]})
        assert logout.status_code == 204 and logout.content == b""
    assert expect_error(refresh(client, tokens["refresh_token"]), 401)["code"] == (
        "invalid_refresh_token"
    )
    for unknown in ["garbage", f"{uuid.uuid4().hex}.abc"]:
        assert send(client, "/users/logout", {"refresh_token": unknown}).status_code == 204
    for odd in ["", "x" * 201, None]:
        expect_error(send(client, "/users/logout", {"refresh_token": odd}), 422)


def test_a_suspended_user_cannot_refresh(client: httpx.Client, mailing: Platform) -> None:
    admin_name = unique("admin")
    mailing.create_admin(f"{admin_name}@example.com", admin_name)
    admin = login(client, f"{admin_name}@example.com")
    _, email = register(client)
    tokens = login(client, email)
    suspended = send(
        client, f"/users/{tokens['user_id']}/suspend", {"reason": "spam"}, headers=bearer(admin)
    )
    assert suspended.status_code == 200, suspended.text
    error = expect_error(refresh(client, tokens["refresh_token"]), 403)
    assert error["code"] == "suspended"


# Password change


def test_changing_the_password_ends_the_other_sessions(client: httpx.Client) -> None:
    _, email = register(client)
    here, elsewhere = login(client, email), login(client, email)
    wrong = send(
        client,
        "/users/password",
        {"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert expect_error(wrong, 403)["code"] == "wrong_password"
    short = send(
        client,
        "/users/password",
        {"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(here),
    )
    expect_error(short, 422)
    changed = send(
        client,
        "/users/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert changed.status_code == 200, changed.text
    assert expect_error(refresh(client, elsewhere["refresh_token"]), 401)["code"] == (
        "invalid_refresh_token"
    )
    assert refresh(client, here["refresh_token"]).status_code == 200
    expect_error(send(client, "/users/login", {"email": email, "password": PASSWORD}), 401)
    login(client, email, NEW_PASSWORD)


def test_changing_the_password_needs_a_token(client: httpx.Client) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    expect_error(send(client, "/users/password", body), 401)
    for odd in ODD:
        _, email = register(client)
        tokens = login(client, email)
        answer = send(
            client,
            "/users/password",
            {"current_password": odd, "new_password": odd},
            headers=bearer(tokens),
        )
        assert answer.status_code in (403, 422), answer.text
        expect_error(answer, answer.status_code)


# Password reset by mail


def test_reset_by_mail(client: httpx.Client, mailbox: Mailbox, mailing: Platform) -> None:
    _, email = register(client)
    before = login(client, email)
    known = send(client, "/users/password/reset", {"email": email.upper()})
    unknown = send(client, "/users/password/reset", {"email": f"{unique('no')}@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()  # nothing tells who has an account
    mail = mailbox.wait_for(email, "Reset")
    assert link_in(mail).startswith(f"{mailing.url}/password/reset?token=")
    assert token_in(mail) in html_of(mail)
    assert "30 minutes" in text_of(mail)
    token = token_in(mail)
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert send(client, "/users/password/reset/confirm", body).status_code == 200
    again = send(client, "/users/password/reset/confirm", body)
    assert expect_error(again, 422)["code"] == "token_used"
    login(client, email, NEW_PASSWORD)
    assert expect_error(refresh(client, before["refresh_token"]), 401)["code"] == (
        "invalid_refresh_token"
    )
    verified = client.get("/users/profile", headers=bearer(login(client, email, NEW_PASSWORD)))
    assert verified.json()["email_verified"] is True  # the link reached them there


def test_reset_links_expire_and_die_with_a_password_change(
    client: httpx.Client, mailbox: Mailbox, database: str
) -> None:
    _, email = register(client)
    for _ in range(2):
        assert send(client, "/users/password/reset", {"email": email}).status_code == 202
    first, second = (token_in(mailbox.wait_for(email, "Reset", n)) for n in (1, 2))
    sql(
        database,
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hex=first.partition(".")[0]),
    )
    expired = send(
        client, "/users/password/reset/confirm", {"token": first, "new_password": NEW_PASSWORD}
    )
    assert expect_error(expired, 422)["code"] == "token_expired"
    changed = send(
        client,
        "/users/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(login(client, email)),
    )
    assert changed.status_code == 200
    dead = send(
        client,
        "/users/password/reset/confirm",
        {"token": second, "new_password": "yet another one"},
    )
    assert expect_error(dead, 422)["code"] == "token_used"


def test_reset_mails_to_one_address_are_throttled(
    client: httpx.Client, mailbox: Mailbox, database: str
) -> None:
    _, email = register(client)
    for _ in range(5):
        assert send(client, "/users/password/reset", {"email": email}).status_code == 202
    mailbox.wait_for(email, "Reset", 3)
    rows = sql(
        database,
        "SELECT count(*) AS n FROM account_tokens WHERE email_key = $1 AND purpose = $2",
        email.casefold(),
        "reset_password",
    )
    assert rows[0]["n"] == 3
    wait_until(lambda: not sql(database, "SELECT id FROM mail_outbox"), "the outbox to empty")
    assert len([m for m in mailbox.to(email) if "Reset" in m["Subject"]]) == 3


def test_reset_tokens_are_good_for_nothing_else(client: httpx.Client, mailbox: Mailbox) -> None:
    _, email = register(client)
    verify = token_in(mailbox.wait_for(email, "Confirm your email"))
    as_reset = send(
        client, "/users/password/reset/confirm", {"token": verify, "new_password": NEW_PASSWORD}
    )
    assert expect_error(as_reset, 422)["code"] == "token_invalid"
    assert expect_error(refresh(client, verify), 401)["code"] == "invalid_refresh_token"
    refresh_token = login(client, email)["refresh_token"]
    as_email = send(client, "/users/email/confirm", {"token": refresh_token})
    assert expect_error(as_email, 422)["code"] == "token_invalid"


def test_reset_routes_refuse_odd_input(client: httpx.Client) -> None:
    for odd in [*ODD, None, 5, "user@example.test", "a@b"]:
        expect_error(send(client, "/users/password/reset", {"email": odd}), 422)
        answer = send(
            client, "/users/password/reset/confirm", {"token": odd, "new_password": NEW_PASSWORD}
        )
        expect_error(answer, 422)
    broken = client.post(
        "/users/password/reset", content=b"{", headers={"Content-Type": "application/json"}
    )
    expect_error(broken, 400)


# Address verification and change


def test_sign_up_mails_a_verification_link(client: httpx.Client, mailbox: Mailbox) -> None:
    _, email = register(client)
    tokens = login(client, email)
    profile = client.get("/users/profile", headers=bearer(tokens)).json()
    assert profile["email_verified"] is False
    mail = mailbox.wait_for(email, "Confirm your email")
    assert "/email/confirm?token=" in link_in(mail)
    confirmed = send(client, "/users/email/confirm", {"token": token_in(mail)})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == email
    again = send(client, "/users/email/confirm", {"token": token_in(mail)})
    assert expect_error(again, 422)["code"] == "token_used"
    assert client.get("/users/profile", headers=bearer(tokens)).json()["email_verified"] is True
    renewed = refresh(client, tokens["refresh_token"]).json()
    assert jwt.decode(renewed["token"], options={"verify_signature": False})["ev"] is True
    resend = send(client, "/users/email/verification", headers=bearer(renewed))
    assert expect_error(resend, 409)["code"] == "already_verified"


def test_verification_can_be_sent_again(client: httpx.Client, mailbox: Mailbox) -> None:
    _, email = register(client)
    tokens = login(client, email)
    expect_error(send(client, "/users/email/verification"), 401)
    assert send(client, "/users/email/verification", headers=bearer(tokens)).status_code == 202
    mail = mailbox.wait_for(email, "Confirm your email", 2)
    assert send(client, "/users/email/confirm", {"token": token_in(mail)}).status_code == 200


def test_entering_needs_a_verified_address_when_required(
    client: httpx.Client, mailbox: Mailbox, mailing: Platform
) -> None:
    admin_name = unique("admin")
    mailing.create_admin(f"{admin_name}@example.com", admin_name)
    admin = login(client, f"{admin_name}@example.com")
    competition = create_competition(
        client, Account(admin["user_id"], admin_name, "", admin["token"])
    )
    _, email = register(client)
    tokens = login(client, email)
    story = {"title": "A story", "content": "Once upon a time."}
    refused = send(client, f"/competitions/{competition}/submit", story, headers=bearer(tokens))
    assert expect_error(refused, 403)["code"] == "email_unverified"
    mail = mailbox.wait_for(email, "Confirm your email")
    assert send(client, "/users/email/confirm", {"token": token_in(mail)}).status_code == 200
    renewed = refresh(client, tokens["refresh_token"]).json()
    entered = send(client, f"/competitions/{competition}/submit", story, headers=bearer(renewed))
    assert entered.status_code == 201, entered.text


def test_changing_the_address(client: httpx.Client, mailbox: Mailbox) -> None:
    username, email = register(client)
    _, taken = register(client)
    tokens = login(client, email)
    new = f"{unique('new')}@example.com"

    def change(new_email: object, password: object = PASSWORD) -> httpx.Response:
        return send(
            client,
            "/users/email",
            {"new_email": new_email, "password": password},
            headers=bearer(tokens),
        )

    assert expect_error(change(new, "wrong password"), 403)["code"] == "wrong_password"
    assert expect_error(change(taken.upper()), 409)["code"] == "email_taken"
    assert expect_error(change(email), 409)["code"] == "same_email"
    for odd in [*ODD, None, "a@b.test"]:
        expect_error(change(odd), 422)
    expect_error(send(client, "/users/email", {"new_email": new, "password": PASSWORD}), 401)
    assert change(new).status_code == 202
    notice = mailbox.wait_for(email, "about to change")
    assert new in text_of(notice) and "token=" not in text_of(notice)
    link = mailbox.wait_for(new, "new email")
    profile = client.get("/users/profile", headers=bearer(tokens)).json()
    assert profile["email"] == email  # not before the link is followed
    confirmed = send(client, "/users/email/confirm", {"token": token_in(link)})
    assert confirmed.status_code == 200, confirmed.text
    profile = client.get("/users/profile", headers=bearer(tokens)).json()
    assert (profile["email"], profile["email_verified"]) == (new, True)
    login(client, new)
    expect_error(send(client, "/users/login", {"email": email, "password": PASSWORD}), 401)
    assert username == profile["username"]


def test_an_address_taken_before_the_link_is_followed_stays_taken(
    client: httpx.Client, mailbox: Mailbox
) -> None:
    _, email = register(client)
    tokens = login(client, email)
    new = f"{unique('race')}@example.com"
    answer = send(
        client, "/users/email", {"new_email": new, "password": PASSWORD}, headers=bearer(tokens)
    )
    assert answer.status_code == 202
    link = mailbox.wait_for(new, "new email")
    body = {"username": unique("quick"), "email": new, "password": PASSWORD}
    assert send(client, "/users/register", body).status_code == 201
    late = send(client, "/users/email/confirm", {"token": token_in(link)})
    assert expect_error(late, 409)["code"] == "email_taken"
    assert client.get("/users/profile", headers=bearer(tokens)).json()["email"] == email


# Mail delivery


def test_a_mail_server_outage_delays_mail_but_loses_none(
    client: httpx.Client, mailbox: Mailbox
) -> None:
    _, email = register(client)
    mailbox.wait_for(email, "Confirm your email")
    mailbox.stop()
    try:
        answer = send(client, "/users/password/reset", {"email": email})
        assert answer.status_code == 202 and answer.elapsed.total_seconds() < 2
    finally:
        mailbox.start()
    mail = mailbox.wait_for(email, "Reset")
    assert (
        send(
            client,
            "/users/password/reset/confirm",
            {"token": token_in(mail), "new_password": NEW_PASSWORD},
        ).status_code
        == 200
    )


def test_no_secret_is_logged_or_stored(
    client: httpx.Client, mailbox: Mailbox, mailing: Platform, database: str
) -> None:
    _, email = register(client)
    secrets = [login(client, email)["refresh_token"], token_in(mailbox.wait_for(email, "Confirm"))]
    assert send(client, "/users/password/reset", {"email": email}).status_code == 202
    secrets.append(token_in(mailbox.wait_for(email, "Reset")))
    macs = [secret.partition(".")[2] for secret in secrets]
    logs = "".join(path.read_text() for path in mailing.var_dir.glob("*.log"))
    stored = str(
        sql(database, "SELECT * FROM account_tokens")
        + sql(database, "SELECT * FROM refresh_tokens")
        + sql(database, "SELECT * FROM mail_outbox")
    )
    for mac in macs:
        assert mac not in logs and mac not in stored


def test_the_embedded_default_writes_eml_files(platform: Platform, users: httpx.Client) -> None:
    username = unique("eml")
    email = f"{username}@example.com"
    body = {"username": username, "email": email, "password": PASSWORD}
    assert users.post("/users/register", json=body).status_code == 201
    mail_dir = platform.var_dir / "mail"
    found: list[Path] = []

    def written() -> bool:
        found[:] = [p for p in mail_dir.glob("*.eml") if f"To: {email}" in p.read_text()]
        return bool(found)

    wait_until(written, "the verification mail as an .eml file")
    assert "email/confirm?token=" in found[0].read_text()
    assert str(found[0]) in (platform.var_dir / "users-1.log").read_text()
    log_in(users, email, username)  # the brief's flow: no verification needed by default


def test_an_expired_session_cannot_be_renewed(client: httpx.Client, database: str) -> None:
    _, email = register(client)
    tokens = login(client, email)
    sql(
        database,
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hex=tokens["refresh_token"].partition(".")[0]),
    )
    error = expect_error(refresh(client, tokens["refresh_token"]), 401)
    assert error["code"] == "refresh_token_expired"


def test_a_link_acts_for_its_owner_whoever_follows_it(
    client: httpx.Client, mailbox: Mailbox
) -> None:
    _, owner_email = register(client)
    _, other_email = register(client)
    owner, other = login(client, owner_email), login(client, other_email)
    new = f"{unique('owned')}@example.com"
    asked = send(
        client, "/users/email", {"new_email": new, "password": PASSWORD}, headers=bearer(owner)
    )
    assert asked.status_code == 202
    link = token_in(mailbox.wait_for(new, "new email"))
    # Someone else signed in follows it: the owner's address changes, never theirs.
    followed = send(client, "/users/email/confirm", {"token": link}, headers=bearer(other))
    assert followed.status_code == 200 and followed.json()["email"] == new
    assert client.get("/users/profile", headers=bearer(other)).json()["email"] == other_email
    assert client.get("/users/profile", headers=bearer(owner)).json()["email"] == new
    # The access token does not make a session of someone else's refresh token.
    renewed = send(
        client, "/users/token/refresh", {"refresh_token": other["refresh_token"]}, bearer(owner)
    )
    assert renewed.json()["user_id"] == other["user_id"]
