"""Replicas failing under load, behind the real gateway, on PostgreSQL.

One platform (three competitions replicas, short timeouts) goes through the faults
in order: a frozen replica (SIGSTOP), a frozen discovery, a replica that stops
heartbeating, and a replica killed outright (SIGKILL) during a stream of requests.
"""

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.conftest import (
    FAST_FAILURE,
    breaker_states,
    make_platform,
    requests_per_instance,
)
from tests.support import Account, Platform, create_competition, get_json, sign_up, wait_until


@pytest.fixture(scope="module")
def platform_under_test(
    tmp_path_factory: pytest.TempPathFactory, make_database: Callable[[str], str]
) -> Iterator[Platform]:
    platform = make_platform(tmp_path_factory, make_database, "faults", FAST_FAILURE, 3)
    platform.start()
    yield platform
    platform.stop()


def _instance_id(platform: Platform, n: int) -> str:
    return str(platform.instance(platform.replicas["competitions"][n])["instance_id"])


def test_round_robin_spreads_requests_evenly(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    before = requests_per_instance(gateway_client)
    for _ in range(90):
        assert gateway_client.get("/competitions").status_code == 200
    after = requests_per_instance(gateway_client)
    assert sorted(after[i] - before[i] for i in after) == [30, 30, 30]


def test_a_frozen_replica_trips_its_breaker_and_gets_no_traffic_until_it_recovers(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    frozen = platform_under_test.replicas["competitions"][0]
    frozen_id = _instance_id(platform_under_test, 0)
    frozen.signal(signal.SIGSTOP)
    try:
        # Every request still succeeds: a timeout on the frozen one is retried elsewhere.
        for _ in range(12):
            assert gateway_client.get("/competitions").status_code == 200
        assert breaker_states(gateway_client)[frozen_id] == "open"
        sent_while_open = requests_per_instance(gateway_client)[frozen_id]
        for _ in range(20):
            assert gateway_client.get("/competitions").status_code == 200
        assert requests_per_instance(gateway_client)[frozen_id] == sent_while_open
    finally:
        frozen.signal(signal.SIGCONT)
    time.sleep(2.2)  # the cooldown
    for _ in range(6):
        assert gateway_client.get("/competitions").status_code == 200
    assert breaker_states(gateway_client)[frozen_id] == "closed"
    transitions = [
        (r["from"], r["to"])
        for r in platform_under_test.gateway.wait_for_log("circuit breaker")
        if frozen_id in str(r.get("upstream"))
    ]
    assert transitions[-3:] == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_restarted_discovery_fails_no_request(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    platform_under_test.discovery.stop()
    for _ in range(20):
        assert gateway_client.get("/competitions").status_code == 200
    platform_under_test.discovery.start()
    wait_until(lambda: get_json(f"{platform_under_test.discovery_url}/health"), "discovery")
    # Without Redis the new discovery knows nobody until the next heartbeats.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert gateway_client.get("/competitions").status_code == 200
    listed = get_json(f"{platform_under_test.discovery_url}/discovery/instances")
    assert sorted(i["service"] for i in listed) == ["competitions"] * 3 + ["users"]


def test_a_replica_that_stops_heartbeating_leaves_the_list(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    silent = platform_under_test.replicas["competitions"][1]
    silent_id = _instance_id(platform_under_test, 1)
    silent.signal(signal.SIGSTOP)
    try:
        wait_until(
            lambda: silent_id not in breaker_states(gateway_client),
            "the gateway to forget the silent replica",
            timeout=10,
        )
    finally:
        silent.signal(signal.SIGCONT)
    wait_until(
        lambda: silent_id in breaker_states(gateway_client),
        "the replica to register again",
        timeout=10,
    )


def test_a_killed_replica_loses_and_duplicates_nothing(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    admin, writer, reader = _people(platform_under_test, gateway_client)
    competition_id = create_competition(gateway_client, admin, "Under fire")
    entry = gateway_client.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "Target", "content": "Comment on me."},
        headers=writer.auth,
    ).json()["submission_id"]
    comment_url = f"{platform_under_test.url}/competitions/{competition_id}/comment/{entry}"
    victim = platform_under_test.replicas["competitions"][2]

    def comment(n: int) -> str:
        """Post comment n until it is acknowledged, always with the same key."""
        headers = {**reader.auth, "Idempotency-Key": f"comment-{n}-{uuid.uuid4().hex[:6]}"}
        for _ in range(10):
            answer = httpx.post(comment_url, json={"content": f"c{n}"}, headers=headers)
            if answer.status_code == 201:
                return str(answer.json()["comment_id"])
            time.sleep(0.2)
        raise AssertionError(f"comment {n} was never acknowledged")

    def read(_: int) -> int:
        return httpx.get(f"{platform_under_test.url}/competitions", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        posted = [pool.submit(comment, n) for n in range(60)]
        reads = [pool.submit(read, n) for n in range(150)]
        time.sleep(0.3)
        victim.signal(signal.SIGKILL)
        acknowledged = [p.result() for p in posted]
        statuses = [r.result() for r in reads]

    assert statuses == [200] * len(statuses)
    details = gateway_client.get(f"/competitions/{competition_id}/submissions/{entry}").json()
    stored = sorted(c["content"] for c in details["comments"])
    assert stored == sorted(f"c{n}" for n in range(60))  # each exactly once
    assert sorted(c["comment_id"] for c in details["comments"]) == sorted(acknowledged)


def _people(platform: Platform, client: httpx.Client) -> tuple[Account, Account, Account]:
    from tests.support import log_in, unique

    name = unique("boss")
    platform.create_admin(f"{name}@example.com", name)
    return log_in(client, f"{name}@example.com", name), sign_up(client), sign_up(client)
