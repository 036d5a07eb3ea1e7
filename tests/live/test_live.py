"""Live notifications end to end: the right people hear, at once, from any replica."""

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live.conftest import PrivateRedis, listening, replica_socket_url, replica_url
from tests.support import (
    Account,
    Platform,
    create_competition,
    log_in,
    notices,
    sign_up,
    unique,
    ws_url,
)


@pytest.fixture(scope="module")
def people(live: Platform) -> dict[str, Account]:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        name = unique("boss")
        live.create_admin(f"{name}@example.com", name)
        return {
            "admin": log_in(client, f"{name}@example.com", name),
            **{role: sign_up(client, role) for role in ("writer", "reader", "other", "bystander")},
        }


@pytest.fixture(scope="module")
def gateway(live: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10, event_hooks=notices.HOOKS) as client:
        yield client


def _client(live: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live.url, timeout=10, event_hooks=notices.ASYNC_HOOKS)


async def _types(client: httpx.AsyncClient, who: Account) -> list[str]:
    page = (await client.get("/notifications?limit=500", headers=who.auth)).json()
    return [n["type"] for n in page["items"]]


async def test_an_entry_through_one_replica_reaches_a_socket_on_the_other(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    first_replica, second_replica = live.replicas["competitions"]
    first, second = replica_socket_url(live, first_replica), replica_url(live, second_replica)
    competition_id = create_competition(gateway, people["admin"], "Across replicas")
    subscribed = gateway.post(f"/users/subscribe/{competition_id}", headers=people["reader"].auth)
    assert subscribed.status_code == 200
    async with listening(first, people["reader"].token) as reader:
        async with httpx.AsyncClient(
            base_url=second, timeout=10, event_hooks=notices.ASYNC_HOOKS
        ) as via_second:
            entry = await via_second.post(
                f"/competitions/{competition_id}/submit",
                json={"title": "Hello", "content": "World"},
                headers=people["writer"].auth,
            )
        assert entry.status_code == 201
        notice = await reader.next(timeout=3)
    assert notice["type"] == "submission.created"
    assert notice["data"]["submission_id"] == entry.json()["submission_id"]
    assert notice["data"]["competition_title"] == "Across replicas"
    assert notice["data"]["actor_id"] == people["writer"].user_id
    assert notice["data"]["actor_username"] == people["writer"].username
    assert set(notice) == {"id", "type", "data", "created_at"}


async def test_each_kind_reaches_exactly_the_right_people(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    admin, writer, reader, other = (people[k] for k in ("admin", "writer", "reader", "other"))
    async with _client(live) as client:
        before = {k: len(await _types(client, p)) for k, p in people.items()}
        competition_id = create_competition(
            gateway,
            admin,
            "Five kinds",
            starts_in=timedelta(seconds=-1),
            lasts=timedelta(seconds=5),
        )
        for follower in (reader, other):
            await client.post(f"/users/subscribe/{competition_id}", headers=follower.auth)
        entry = (
            await client.post(
                f"/competitions/{competition_id}/submit",
                json={"title": "Story", "content": "Text"},
                headers=writer.auth,
            )
        ).json()["submission_id"]
        await client.post(f"/competitions/{competition_id}/like/{entry}", headers=reader.auth)
        comment = (
            await client.post(
                f"/competitions/{competition_id}/comment/{entry}",
                json={"content": "Nice"},
                headers=reader.auth,
            )
        ).json()["comment_id"]
        await client.post(
            f"/competitions/{competition_id}/comment/{entry}",
            json={"content": "Thanks", "parent_id": comment},
            headers=writer.auth,
        )
        await asyncio.sleep(6)  # the competition ends; a finalizer writes the places

        new = {k: (await _types(client, p))[before[k] :] for k, p in people.items()}
    assert new["writer"] == [
        "submission.liked",
        "comment.created",
        "competition.placed",
    ]
    assert new["reader"] == ["submission.created", "comment.replied"]
    assert new["other"] == ["submission.created"]
    assert new["bystander"] == []
    assert new["admin"] == []


async def test_liking_again_after_unliking_tells_the_author_nothing_new(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    writer, reader = people["writer"], people["reader"]
    competition_id = create_competition(gateway, people["admin"], "Fickle")
    entry = gateway.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "Liked", "content": "…"},
        headers=writer.auth,
    ).json()["submission_id"]
    like = f"/competitions/{competition_id}/like/{entry}"
    async with _client(live) as client:
        before = len(await _types(client, writer))
        for _ in range(3):
            assert (await client.post(like, headers=reader.auth)).status_code == 200
            assert (await client.delete(like, headers=reader.auth)).status_code == 200
        assert (await client.post(like, headers=reader.auth)).status_code == 200
        assert (await _types(client, writer))[before:] == ["submission.liked"]


async def test_resuming_with_after_gets_exactly_what_was_missed(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    writer, reader = people["writer"], people["reader"]
    async with _client(live) as client:
        competition_id = create_competition(
            gateway, people["admin"], "Resume", max_entries_per_user=20
        )
        entry = (
            await client.post(
                f"/competitions/{competition_id}/submit",
                json={"title": "Talk to me", "content": "…"},
                headers=writer.auth,
            )
        ).json()["submission_id"]

        async def comment(n: int) -> None:
            answer = await client.post(
                f"/competitions/{competition_id}/comment/{entry}",
                json={"content": f"comment {n}"},
                headers=reader.auth,
            )
            assert answer.status_code == 201

        async with listening(live.url, writer.token) as socket:
            await comment(0)
            first = await socket.next()
        for n in range(1, 6):  # while the writer is away
            await comment(n)
        async with listening(live.url, writer.token, after=first["id"]) as socket:
            missed = await socket.take(5)
            await comment(6)
            live_one = await socket.next()
            await socket.nothing_for(1)
    ids = [m["id"] for m in missed]
    assert ids == list(range(first["id"] + 1, first["id"] + 6))
    assert [m["data"]["comment_id"] for m in missed] == sorted(
        {m["data"]["comment_id"] for m in missed},
        key=[m["data"]["comment_id"] for m in missed].index,
    )
    assert live_one["id"] == first["id"] + 6


async def test_bad_tokens_are_refused_with_4401(live: Platform, people: dict[str, Account]):
    for url in (f"{ws_url(live.url)}/ws", f"{ws_url(live.url)}/ws?token=nonsense"):
        async with connect(url) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_token_in_the_query_works_too(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    async with connect(f"{ws_url(live.url)}/ws?token={people['writer'].token}") as socket:
        await socket.send("ping")
        message = json.loads(await asyncio.wait_for(socket.recv(), 5))
        notices.validate(message)
        assert message == {"type": "pong"}


async def test_a_replicas_socket_port_answers_unknown_paths_with_json_404(live: Platform):
    replica = live.replicas["competitions"][0]
    url = f"{ws_url(replica_socket_url(live, replica))}/elsewhere"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url)
    assert refused.value.response.status_code == 404


async def test_without_redis_notices_still_arrive_and_none_is_lost(
    live: Platform, people: dict[str, Account], gateway: httpx.Client, redis_server: PrivateRedis
):
    writer, reader = people["writer"], people["reader"]
    async with _client(live) as client:
        competition_id = create_competition(gateway, people["admin"], "No Redis")
        entry = (
            await client.post(
                f"/competitions/{competition_id}/submit",
                json={"title": "Quiet", "content": "…"},
                headers=writer.auth,
            )
        ).json()["submission_id"]
        url = f"/competitions/{competition_id}/comment/{entry}"
        async with listening(live.url, writer.token) as socket:
            redis_server.stop()
            for n in range(3):
                await client.post(url, json={"content": f"down {n}"}, headers=reader.auth)
            while_down = await socket.take(3, timeout=5)  # by polling
            redis_server.start()
            await asyncio.sleep(1.5)  # replicas subscribe again
            for n in range(3):
                await client.post(url, json={"content": f"up {n}"}, headers=reader.auth)
            after_return = await socket.take(3, timeout=5)
    ids = [m["id"] for m in while_down + after_return]
    assert ids == list(range(ids[0], ids[0] + 6))


async def test_a_killed_replicas_clients_resume_elsewhere_losing_nothing(
    live: Platform, people: dict[str, Account], gateway: httpx.Client
):
    writer, reader = people["writer"], people["reader"]
    doomed = live.replicas["competitions"][1]
    doomed_url = replica_socket_url(live, doomed)
    async with _client(live) as client:
        competition_id = create_competition(gateway, people["admin"], "Doomed")
        entry = (
            await client.post(
                f"/competitions/{competition_id}/submit",
                json={"title": "Still here", "content": "…"},
                headers=writer.auth,
            )
        ).json()["submission_id"]
        url = f"/competitions/{competition_id}/comment/{entry}"
        async with listening(doomed_url, writer.token) as socket:
            await client.post(url, json={"content": "before"}, headers=reader.auth)
            last = await socket.next()
            doomed.signal(signal.SIGKILL)
            with pytest.raises(ConnectionClosed):  # with a close frame or without
                await asyncio.wait_for(socket.socket.recv(), 5)
        for n in range(4):  # the gateway retries elsewhere; keys make it safe
            answer = await client.post(
                url,
                json={"content": f"after {n}"},
                headers={**reader.auth, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert answer.status_code == 201
        async with listening(live.url, writer.token, after=last["id"]) as socket:
            resumed = await socket.take(4)
            await socket.nothing_for(0.5)
    assert [m["id"] for m in resumed] == list(range(last["id"] + 1, last["id"] + 5))
    assert [m["type"] for m in resumed] == ["comment.created"] * 4


async def test_a_replica_stopping_gracefully_closes_sockets_with_1012(
    live: Platform, people: dict[str, Account]
):
    """Last in this module: it stops the remaining competitions replica."""
    stopping = live.replicas["competitions"][0]
    async with listening(replica_socket_url(live, stopping), people["writer"].token) as socket:
        stopping.signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert stopping.process is not None
    assert stopping.process.wait(15) in (0, -signal.SIGTERM)
    assert stopping.wait_for_log("deregistered from discovery"), stopping.tail(40)
