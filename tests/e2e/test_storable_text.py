"""Text PostgreSQL cannot store is refused with a 422 naming the field, never a 500.

A lone surrogate (U+D800 to U+DFFF) reaches a service two ways: as a JSON escape
(``"\\ud800"``), and as the raw bytes ED A0 80, which Python's ``json.loads`` decodes
with ``surrogatepass`` into the same. Either once answered 500 from the database driver,
and three 500s opened the users breaker at the gateway: login was down for everyone.
Every text field of every request body is tried both ways, on the real platform.
"""

import json
from dataclasses import dataclass

import httpx
import pytest

from tests.support import (
    PASSWORD,
    Account,
    Platform,
    create_competition,
    expect_error,
    get_json,
    log_in,
    sign_up,
    unique,
)

SURROGATE = "\ud800"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {competition}, {submission} filled in
    auth: str | None  # "admin", "writer", or None
    valid: dict[str, str]  # a body the route accepts
    field: str  # the text put in this field
    # A URL is parsed, not stored as sent: the parser drops or percent-encodes controls.
    refuses_nul: bool = True

    def body(self, text: str) -> dict[str, str]:
        """The valid body with ``text`` put into the field (an email's before its "@")."""
        valid = {k: v.replace("{unique}", unique("st")) for k, v in self.valid.items()}
        name, at, domain = valid[self.field].partition("@")
        return {**valid, self.field: f"{name}{text}{at}{domain}"}


NEW_USER = {"username": "{unique}", "email": "{unique}@example.com", "password": PASSWORD}
LOGIN = {"email": "someone@example.com", "password": PASSWORD}
COMPETITION = {
    "title": "T",
    "description": "",
    "start_date": "2030-01-01",
    "end_date": "2031-01-01",
}
ENTRY = {"title": "T", "content": "c"}
ROUTES = [
    *(Route("POST", "/users/register", None, NEW_USER, f) for f in NEW_USER),
    *(Route("POST", "/users/login", None, LOGIN, f) for f in LOGIN),
    Route("PATCH", "/users/profile", "writer", {"bio": "b"}, "bio"),
    Route("PATCH", "/users/profile", "writer", {"profile_picture": "https://example.com/"},
          "profile_picture", refuses_nul=False),
    *(Route("POST", "/competitions", "admin", COMPETITION, f) for f in ("title", "description")),
    *(Route("PATCH", "/competitions/{competition}", "admin", {f: "x"}, f)
      for f in ("title", "description")),
    *(Route("POST", "/competitions/{competition}/submit", "writer", ENTRY, f) for f in ENTRY),
    Route("POST", "/competitions/{competition}/comment/{submission}", "admin", {"content": "c"},
          "content"),
]  # fmt: skip

ENCODINGS = {
    "escaped": lambda body: json.dumps(body).encode(),  # "\ud800"
    "raw bytes": lambda body: json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"),
}


@pytest.fixture(scope="module")
def places(competitions: httpx.Client, admin: Account, users: httpx.Client) -> dict[str, str]:
    competition = create_competition(competitions, admin, "Surrogates")
    author = sign_up(users, "author")
    entry = competitions.post(
        f"/competitions/{competition}/submit",
        json={"title": "An entry", "content": "Once."},
        headers=author.auth,
    )
    assert entry.status_code == 201, entry.text
    return {"competition": competition, "submission": entry.json()["submission_id"]}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path} {r.field}")
def test_a_lone_surrogate_in_any_text_field_is_a_422_naming_it(
    route: Route,
    encoding: str,
    users: httpx.Client,
    admin: Account,
    writer: Account,
    places: dict[str, str],
) -> None:
    for text in (SURROGATE, "\x00") if route.refuses_nul else (SURROGATE,):
        content = ENCODINGS[encoding](route.body(text))
        if text == SURROGATE and encoding == "raw bytes":
            assert b"\xed\xa0\x80" in content
        headers = {"Content-Type": "application/json"}
        if route.auth is not None:
            headers.update((admin if route.auth == "admin" else writer).auth)
        response = users.request(
            route.method, route.path.format(**places), content=content, headers=headers
        )
        error = expect_error(response, 422)
        details = error["details"]
        assert isinstance(details, list)
        # One entry per field refused (a union such as the picture's names each variant).
        named = {d["location"].split(".")[:2][-1] for d in details}
        assert named == {route.field} and details[0]["location"].startswith("body."), details


def test_a_field_named_with_a_lone_surrogate_is_a_422_too(
    users: httpx.Client, writer: Account
) -> None:
    content = json.dumps({f"bio{SURROGATE}": "x"}).encode()
    response = users.patch(
        "/users/profile",
        content=content,
        headers={"Content-Type": "application/json", **writer.auth},
    )
    # Refused as a whole (the key cannot be named in a UTF-8 answer), not as a 500.
    [refused] = expect_error(response, 422)["details"]  # type: ignore[misc]
    assert refused["location"] == "body"


@pytest.mark.parametrize("value", ["%ED%A0%80", "%00", "%F0"])
def test_query_and_path_text_never_reaches_the_database_unchecked(
    competitions: httpx.Client, places: dict[str, str], value: str
) -> None:
    listed = competitions.get(f"/competitions?status={value}")
    assert [d["location"] for d in expect_error(listed, 422)["details"]] == ["query.status"]
    entries = competitions.get(f"/competitions/{places['competition']}/submissions?sort={value}")
    assert [d["location"] for d in expect_error(entries, 422)["details"]] == ["query.sort"]
    for path in (f"/competitions/{value}", f"/users/{value}"):
        # A control character in a path is the gateway's 400; the rest no id: 404.
        expect_error(competitions.get(path), 400 if value == "%00" else 404)


def test_a_flood_of_lone_surrogate_bios_leaves_login_up_for_everyone(
    platform: Platform, users: httpx.Client, writer: Account, reader: Account
) -> None:
    """The original attack: three such bios opened the users breaker at the gateway."""
    bio = {"bio": f"a{SURROGATE}"}
    for spelling in ENCODINGS.values():
        for _ in range(15):
            response = users.patch(
                "/users/profile",
                content=spelling(bio),
                headers={"Content-Type": "application/json", **writer.auth},
            )
            assert response.status_code == 422
    [instance] = get_json(f"{platform.url}/gateway/status")["services"]["users"]
    assert instance["breaker"] == "closed"
    assert log_in(users, reader.email, reader.username).token
