"""The competitions cache as a client sees it: fresh after every write and boundary."""

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.live.conftest import replica_url
from tests.support import Account, Platform, create_competition, log_in, unique


@pytest.fixture(scope="module")
def client(live: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def admin(live: Platform, client: httpx.Client) -> Account:
    name = unique("boss")
    live.create_admin(f"{name}@example.com", name)
    return log_in(client, f"{name}@example.com", name)


def _titles(client: httpx.Client, query: str = "") -> list[str]:
    return [c["title"] for c in client.get(f"/competitions{query}").json()]


def _cache_lookups(live: Platform, outcome: str) -> float:
    total = 0.0
    for replica in live.replicas["competitions"]:
        for line in httpx.get(f"{replica_url(live, replica)}/metrics").text.splitlines():
            if line.startswith(
                f'litcomp_cache_lookups_total{{cache="competitions",outcome="{outcome}"}}'
            ):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_reads_are_served_from_the_cache(live: Platform, client: httpx.Client, admin: Account):
    create_competition(client, admin, unique("Cached "))
    for _ in range(4):
        client.get("/competitions")  # both replicas, twice each
    hits_before = _cache_lookups(live, "hit")
    for _ in range(10):
        assert client.get("/competitions").status_code == 200
    assert _cache_lookups(live, "hit") - hits_before == 10


def test_creates_and_edits_show_at_once(client: httpx.Client, admin: Account):
    title = unique("Fresh ")
    before = _titles(client)
    competition_id = create_competition(client, admin, title)
    assert title in _titles(client)
    assert len(_titles(client)) == len(before) + 1
    renamed = unique("Renamed ")
    client.patch(f"/competitions/{competition_id}", json={"title": renamed}, headers=admin.auth)
    assert renamed in _titles(client)
    assert client.get(f"/competitions/{competition_id}").json()["title"] == renamed


def test_a_competition_moves_from_upcoming_to_active_when_it_starts(
    client: httpx.Client, admin: Account
):
    title = unique("Soon ")
    create_competition(client, admin, title, starts_in=timedelta(seconds=2))
    assert title in _titles(client, "?status=upcoming")
    assert title not in _titles(client)
    time.sleep(2.5)
    assert title in _titles(client)
    assert title not in _titles(client, "?status=upcoming")
