"""The gateway between a client and an instance: what passes, what is added, what is refused."""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from tests.gateway.conftest import Edge, register, running_edge, start_echo
from tests.support import expect_error, free_port, wait_until, ws_url


@pytest.fixture
def client(edge: Edge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        yield client


def test_method_path_query_and_body_pass_unchanged(client: httpx.Client):
    answer = client.request(
        "PATCH",
        "/users/profile?x=1&y=%20two",
        content=b'{"bio": "hi"}',
        headers={"Content-Type": "application/json"},
    ).json()
    assert answer["method"] == "PATCH"
    assert answer["path"] == "/users/profile"
    assert answer["query"] == "x=1&y=%20two"
    assert answer["body"] == '{"bio": "hi"}'


def test_forwarding_headers_are_the_gateways_own(client: httpx.Client):
    request_id = f"edge-{uuid.uuid4().hex}"
    response = client.get(
        "/competitions",
        headers={
            "X-Request-ID": request_id,
            "X-Forwarded-For": "6.6.6.6",
            "X-FORWARDED-HOST": "evil.example",  # names are compared case-insensitively
            "Authorization": "Bearer abc",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "must not pass",
            "Keep-Alive": "timeout=5",
        },
    )
    received = {k.lower(): v for k, v in response.json()["headers"]}
    assert received["x-forwarded-for"] == "127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["x-forwarded-host"].startswith("127.0.0.1:")
    assert received["x-request-id"] == request_id
    assert received["authorization"] == "Bearer abc"
    assert "x-hop" not in received
    assert "keep-alive" not in received
    assert response.headers["X-Request-ID"] == request_id


def test_a_request_id_is_made_when_missing_or_unsafe(client: httpx.Client):
    for headers in ({}, {"X-Request-ID": "bad id with spaces"}):
        response = client.get("/users/x", headers=headers)
        received = {k.lower(): v for k, v in response.json()["headers"]}
        assert received["x-request-id"] == response.headers["X-Request-ID"]
        assert " " not in received["x-request-id"]


def test_unknown_routes_and_large_bodies_are_refused_as_json(client: httpx.Client):
    assert expect_error(client.get("/nowhere"), 404)["code"] == "not_found"
    huge = client.post(
        "/users/register", content=b"x" * (1024 * 1024 + 1), headers={"X-Request-ID": "big-1"}
    )
    assert expect_error(huge, 413)["code"] == "payload_too_large"
    assert huge.headers["X-Request-ID"] == "big-1"  # refused early, still traceable


def test_head_answers_end_with_their_headers(client: httpx.Client):
    # The upstream says how long a GET's body would be and sends none: the gateway must
    # not wait for it (it did, until its deadline).
    started = time.monotonic()
    proxied = client.head("/competitions/anything")
    assert proxied.status_code == 200
    assert proxied.content == b""
    assert time.monotonic() - started < 2
    own = client.head("/health")
    assert own.status_code == 200 and own.content == b""
    assert own.headers["content-length"] == str(len(client.get("/health").content))
    assert client.get("/competitions/anything").json()["method"] == "GET"  # still in step


def test_status_json_and_page(client: httpx.Client, edge: Edge):
    status = client.get("/gateway/status").json()
    assert status["balancer"] == "least_load"
    [users] = status["services"]["users"]
    assert users["instance_id"] == "echo-users"
    assert users["address"] == f"http://127.0.0.1:{edge.echo_port}"
    assert users["restarts"] == 0  # registered without a count: not supervised
    page = client.get("/status")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/gateway/status" in page.text


def test_a_slow_instance_times_out_as_504(client: httpx.Client):
    slow = client.post("/competitions/slow?seconds=3")
    assert expect_error(slow, 504)["code"] == "upstream_timeout"


def breakers(edge: Edge) -> dict[str, object]:
    """The breaker of each competitions instance the gateway knows, by instance id."""
    return {i["instance_id"]: i["breaker"] for i in edge.instances()["competitions"]}


def test_one_clients_500s_do_not_take_login_down_for_everyone(client: httpx.Client, edge: Edge):
    """The attack: one client whose requests make the users service answer 500 (a lone
    surrogate in a bio did) opened its breaker after three, and nobody could log in
    for 10 s; one request per cooldown kept it so. Error answers no longer open a
    breaker unless the instance stands out from its peers, and users has none."""
    for _ in range(30):
        assert client.get("/users/status/500").status_code == 500
        assert client.get("/users/status/503").status_code == 503
    [users] = edge.instances()["users"]
    assert users["breaker"] == "closed"
    assert users["last_error"] == "HTTP 503"
    login = client.post("/users/login", json={"email": "a@example.com", "password": "x"})
    assert login.status_code == 200
    assert login.json()["path"] == "/users/login"


def test_an_instance_whose_500s_stand_out_from_its_peers_is_ejected(
    client: httpx.Client, edge: Edge
):
    """Beside a healthy instance, one that answers 500 to everything stands out: its
    breaker opens at the end of the interval (0.5 s here), and the other takes the
    traffic. (Its 500s to GETs were retried on the other meanwhile.)"""
    discovery = edge.platform.discovery_url
    port = free_port()
    broken = start_echo(port, status=500)
    register(discovery, "competitions", "broken", port)
    try:
        wait_until(lambda: "broken" in breakers(edge), "the broken instance to be listed")

        def ejected() -> bool:
            # Enough answers for an interval to judge (10 from each at least).
            assert all(client.get("/competitions/x").status_code == 200 for _ in range(40))
            return breakers(edge)["broken"] == "open"

        wait_until(ejected, "the broken instance to be ejected", timeout=10)
        # Its peers (the echo server, under one id or two) stay in.
        assert set(breakers(edge).values()) == {"open", "closed"}
        assert all(client.get("/competitions/x").status_code == 200 for _ in range(10))
        [log] = edge.platform.gateway.wait_for_log("ejected:")
        assert "answers errors" in log["reason"]
    finally:
        httpx.delete(f"{discovery}/discovery/instances/competitions/broken")
        broken.terminate()
        broken.wait()


def test_an_instance_that_says_it_is_overloaded_is_busy_not_broken(tmp_path: Path):
    """A users instance with more passwords to check than it can in time answers 503
    ``overloaded`` at once: it is up, so it stays in, and its peers are not sent its
    load. Beside it and two healthy ones (the echo server twice: with four, two may be
    ejected), an instance answering any other 503 stands out and is ejected, by the
    same traffic. (An edge of its own: the gateway remembers instances a while after
    they leave discovery, and the overloaded one stays in.)"""
    started = []
    with running_edge(tmp_path, {}) as edge, httpx.Client(base_url=edge.url) as client:
        try:
            register(edge.platform.discovery_url, "competitions", "healthy", edge.echo_port)
            for error in ("overloaded", "unavailable"):
                port = free_port()
                started.append(start_echo(port, status=503, error=error))
                register(edge.platform.discovery_url, "competitions", error, port)
            wait_until(
                lambda: {"healthy", "overloaded", "unavailable"} <= breakers(edge).keys(),
                "all four to be listed",
            )

            def ejected() -> bool:
                # Enough answers for an interval to judge (10 from each at least).
                for _ in range(80):
                    client.get("/competitions/x")
                return breakers(edge)["unavailable"] == "open"

            wait_until(ejected, "the unavailable instance to be ejected", timeout=20)
            assert breakers(edge)["overloaded"] == "closed"
        finally:
            for echo in started:
                echo.terminate()
                echo.wait()


def test_timeouts_still_open_the_breaker_and_the_only_instance_is_still_tried(
    client: httpx.Client, edge: Edge
):
    for _ in range(3):
        assert expect_error(client.get("/users/slow?seconds=3"), 504)["code"] == "upstream_timeout"
    [users] = edge.instances()["users"]
    assert users["breaker"] == "open"
    assert users["last_error"] == "no complete answer before the deadline"
    # With fewer than half of its instances healthy (none of one) the gateway is in panic
    # and sends to them all the same: a breaker guards against one bad instance among
    # good ones, and shutting out every instance serves nobody.
    assert client.get("/users/anything").status_code == 200


def test_a_keyed_post_is_retried_only_where_the_key_is_honoured(client: httpx.Client, edge: Edge):
    """A POST with an Idempotency-Key that fails with a 5xx goes to another instance
    only if its route honours the key (routes.IDEMPOTENCY_KEY_ROUTES): elsewhere the
    service would do it twice."""
    discovery = edge.platform.discovery_url
    register(discovery, "competitions", "echo-competitions-2", edge.echo_port)
    try:
        wait_until(lambda: "echo-competitions-2" in breakers(edge), "a second instance")
        for path, attempts in (
            ("/competitions/c-1/submit", 2),
            ("/competitions", 2),
            ("/competitions/c-1/like/s-1", 1),
            ("/competitions/c-1/anything", 1),
        ):
            request_id = f"keyed-{uuid.uuid4().hex}"
            failed = client.post(
                path,
                json={},
                headers={
                    "Idempotency-Key": "k-1",
                    "X-Echo-Status": "500",
                    "X-Request-ID": request_id,
                },
            )
            assert failed.status_code == 500
            seen = client.get(f"/competitions/seen/{request_id}").json()
            assert seen == {"count": attempts}, path
    finally:
        httpx.delete(f"{discovery}/discovery/instances/competitions/echo-competitions-2")


async def test_websocket_relay_both_ways_and_closes(edge: Edge):
    async with connect(f"{ws_url(edge.url)}/ws?name=ada") as socket:
        assert await asyncio.wait_for(socket.recv(), 5) == "hello ada"
        await socket.send("one")
        assert await asyncio.wait_for(socket.recv(), 5) == "echo: one"
        await socket.send("close")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    # Closing from the client side ends the relay cleanly too.
    async with connect(f"{ws_url(edge.url)}/ws") as socket:
        assert await asyncio.wait_for(socket.recv(), 5) == "hello"
        await socket.close()
        assert socket.state is State.CLOSED


async def test_pipelined_requests_are_answered_in_order(edge: Edge):
    """Answers go out in the order asked, whether the gateway answers at once (/ws
    without an upgrade: 400), from a task (its own /health) or from an instance that
    takes a while (the first)."""
    host, port = edge.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    targets = [
        "/competitions/slow?seconds=0.3",
        "/ws",
        "/health",
        "/competitions/second",
        "/nowhere",
    ]
    writer.write(b"".join(f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for t in targets))
    statuses = []
    bodies = []
    try:
        for _ in targets:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length:")
            )
            statuses.append(int(lines[0].split()[1]))
            bodies.append(json.loads(await reader.readexactly(length)))
    finally:
        writer.close()
    assert statuses == [200, 400, 200, 200, 404]
    assert bodies[0] == {"slept": True}
    assert bodies[3]["path"] == "/competitions/second"
    assert bodies[2] == {"status": "ok"}
