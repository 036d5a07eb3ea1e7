"""A POST repeated with the same Idempotency-Key answers the same and creates nothing."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from litcomp.gateway.routes import IDEMPOTENCY_KEY_ROUTES
from tests.support import PASSWORD, Account, Platform, create_competition, expect_error, unique


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_repeated_entry_is_the_same_entry(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition_id = create_competition(competitions, admin, "Once", max_entries_per_user=5)
    url = f"/competitions/{competition_id}/submit"
    body = {"title": "Only once", "content": "Sent twice."}
    headers = {**writer.auth, **_key()}
    first = competitions.post(url, json=body, headers=headers)
    again = competitions.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = competitions.get(f"/competitions/{competition_id}/submissions").json()
    assert listed["total"] == 1

    other = competitions.post(url, json={**body, "title": "Changed"}, headers=headers)
    assert expect_error(other, 422)["code"] == "idempotency_key_reused"


def test_concurrent_repeats_create_one_entry(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition_id = create_competition(competitions, admin, "Race", max_entries_per_user=10)
    url = f"{competitions.base_url}/competitions/{competition_id}/submit"
    headers = {**writer.auth, **_key()}
    body = {"title": "Raced", "content": "Eight at once."}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, json=body, headers=headers), range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["submission_id"] for a in answers}) == 1
    assert competitions.get(f"/competitions/{competition_id}/submissions").json()["total"] == 1


def test_keys_belong_to_their_user(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    competition_id = create_competition(competitions, admin, "Scoped")
    url = f"/competitions/{competition_id}/submit"
    key = _key()
    body = {"title": "Mine", "content": "Same key, other person."}
    mine = competitions.post(url, json=body, headers={**writer.auth, **key})
    theirs = competitions.post(url, json=body, headers={**reader.auth, **key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["submission_id"] != theirs.json()["submission_id"]


def test_a_repeated_comment_is_the_same_comment(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    competition_id = create_competition(competitions, admin, "Talk")
    entry = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "t", "content": "c"},
        headers=writer.auth,
    ).json()["submission_id"]
    url = f"/competitions/{competition_id}/comment/{entry}"
    headers = {**reader.auth, **_key()}
    first = competitions.post(url, json={"content": "Once"}, headers=headers)
    again = competitions.post(url, json={"content": "Once"}, headers=headers)
    assert first.json() == again.json()
    details = competitions.get(f"/competitions/{competition_id}/submissions/{entry}").json()
    assert [c["content"] for c in details["comments"]] == ["Once"]


def test_a_repeated_registration_is_the_same_account(users: httpx.Client):
    name = unique("again")
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    headers = _key()
    first = users.post("/users/register", json=body, headers=headers)
    again = users.post("/users/register", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    without_key = users.post("/users/register", json=body)
    assert expect_error(without_key, 409)["details"] == {"fields": ["email", "username"]}
    too_long = users.post("/users/register", json=body, headers={"Idempotency-Key": "k" * 256})
    expect_error(too_long, 422)


def test_a_repeated_competition_is_the_same_competition(competitions: httpx.Client, admin: Account):
    title = unique("Keyed ")
    body = {"title": title, "start_date": "2030-01-01", "end_date": "2030-02-01"}
    headers = {**admin.auth, **_key()}
    first = competitions.post("/competitions", json=body, headers=headers)
    again = competitions.post("/competitions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = competitions.get("/competitions?status=all&limit=1000").json()
    assert [c["title"] for c in listed].count(title) == 1

    other = competitions.post("/competitions", json={**body, "title": "Other"}, headers=headers)
    assert expect_error(other, 422)["code"] == "idempotency_key_reused"


def test_the_gateway_retries_keyed_posts_only_where_the_key_is_honoured(platform: Platform):
    """The gateway's table (routes.IDEMPOTENCY_KEY_ROUTES) names exactly the operations
    whose services document the Idempotency-Key header."""
    document = httpx.get(f"{platform.url}/openapi.json", timeout=10).json()
    keyed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(
            p["in"] == "header" and p["name"].lower() == "idempotency-key"
            for p in operation.get("parameters", [])
        )
    }
    assert keyed == set(IDEMPOTENCY_KEY_ROUTES)
