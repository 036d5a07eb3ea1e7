import httpx

from tests.support import Account, from_now


def test_walk(users: httpx.Client, competitions: httpx.Client, admin: Account, writer: Account):
    created = competitions.post(
        "/competitions",
        json={
            "title": "Short stories",
            "start_date": from_now(hours=-1),
            "end_date": from_now(days=1),
        },
        headers=admin.auth,
    )
    assert created.status_code == 201, created.text
    cid = created.json()["competition_id"]
    sub = competitions.post(
        f"/competitions/{cid}/submit", json={"title": "t", "content": "c"}, headers=writer.auth
    )
    assert sub.status_code == 201, sub.text
    r = users.post(f"/users/subscribe/{cid}", headers=writer.auth)
    assert r.json() == {"message": "Subscription successful"}, r.text
    r = users.get("/users/profile/subscriptions", headers=writer.auth)
    print(r.json())
    r = users.get("/users/profile/submissions", headers=writer.auth)
    print(r.json())
    r = competitions.get(f"/competitions/{cid}/submissions")
    print(r.json())
