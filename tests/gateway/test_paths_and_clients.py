"""Routing and rate limits see the path the service acts on, per real client, and the
operator endpoints answer only to operators: through the real gateway, over raw
sockets (an HTTP client would clean up the very targets under test).

Two gateways in front of the echo server, with tight limits: ``trusting`` believes
forwarding headers from loopback (so each test is a client of its own, by
``X-Forwarded-For``), ``plain`` believes none (the default).
"""

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from litcomp.kit.auth import SigningKey
from tests.gateway.conftest import running_edge
from tests.support import Process, free_port, get_json, wait_until

LOGIN_BURST = 5
BURST = 20
SPELLINGS_OF_LOGIN = [
    "/users/login#x",
    "//users//login",
    "/users/./login",
    "/users/%6Cogin",
    "/users/login/",
]
_clients = count(1)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Gateways:
    trusting: int  # ports
    plain: int
    key: SigningKey
    log: Path
    clients: Iterator[int] = field(default_factory=lambda: _clients)

    def client(self) -> dict[str, str]:
        """Headers that make the trusting gateway see a client never seen before."""
        return {"X-Forwarded-For": f"198.51.100.{next(self.clients)}"}

    def token(self, role: str) -> str:
        token, _ = self.key.issue(
            user_id=uuid.uuid4(), role=role, issuer="litcomp-users", ttl=timedelta(minutes=5)
        )
        return token


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    var_dir = tmp_path_factory.mktemp("paths")
    key = SigningKey.load_or_create(var_dir / "users-key.pem")
    jwks = var_dir / "jwks.json"
    jwks.write_text(json.dumps(key.jwks()))
    limits = {
        "LITCOMP_GATEWAY_AUTH_BURST": str(LOGIN_BURST),
        "LITCOMP_GATEWAY_AUTH_RATE_PER_MINUTE": "0.01",
        "LITCOMP_GATEWAY_RATE_BURST": str(BURST),
        "LITCOMP_GATEWAY_RATE_PER_SECOND": "0.001",
    }
    trusting = {**limits, "LITCOMP_GATEWAY_TRUSTED_PROXIES": "127.0.0.0/8, ::1"}
    with running_edge(var_dir, trusting, jwks=jwks) as edge:
        env = {**edge.platform.env, "LITCOMP_GATEWAY_PORT": str(free_port())}
        del env["LITCOMP_GATEWAY_TRUSTED_PROXIES"]
        plain = Process("gateway", env, var_dir / "gateway-plain.log")
        plain.start()
        try:
            port = int(env["LITCOMP_GATEWAY_PORT"])
            wait_until(lambda: get_json(f"http://127.0.0.1:{port}/health"), "the plain gateway")
            yield Gateways(edge.platform.gateway_port, port, key, edge.platform.gateway.log_path)
        finally:
            plain.stop()


def send(port: int, method: str, target: str, headers: dict[str, str] | None = None) -> Answer:
    """One request, written as given, on a connection of its own."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    body = b"{}" if method == "POST" else b""
    if body:
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        received = b""
        while b"\r\n\r\n" not in received:
            received += _recv(sock)
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer_headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines)
        }
        status = int(status_line.split()[1])
        if status != 101:  # a tunnel stays open: its head is all there is to see
            length = int(answer_headers.get("content-length", "0"))
            while len(rest) < length:
                rest += _recv(sock)
    return Answer(status, answer_headers, rest)


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the gateway closed the connection early")
    return chunk


def upgrade(port: int, target: str, client: dict[str, str]) -> Answer:
    return send(
        port,
        "GET",
        target,
        {
            **client,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        },
    )


def error_code(answer: Answer, status: int) -> str:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    return str(answer.json()["error"]["code"])


# --- one path for routing, limits and forwarding ------------------------------------


@pytest.mark.parametrize("target", SPELLINGS_OF_LOGIN)
def test_every_spelling_of_login_is_forwarded_as_login(gateways: Gateways, target: str):
    path, hash_, fragment = target.partition("#")
    answer = send(
        gateways.trusting, "POST", f"{path}?next=%2Fa{hash_}{fragment}", gateways.client()
    )
    assert answer.status == 200, answer
    assert answer.json()["raw_path"] == "/users/login?next=%2Fa"


def test_every_spelling_of_login_counts_against_the_login_limit(gateways: Gateways):
    client = gateways.client()
    allowed = [send(gateways.trusting, "POST", t, client).status for t in SPELLINGS_OF_LOGIN]
    assert allowed == [200] * LOGIN_BURST
    assert (
        error_code(send(gateways.trusting, "POST", "/users/login", client), 429) == "rate_limited"
    )
    for target in SPELLINGS_OF_LOGIN:
        assert send(gateways.trusting, "POST", target, client).status == 429, target


def test_reserved_escapes_stay_encoded_and_count_as_the_service_decodes_them(gateways: Gateways):
    # uvicorn decodes %2F before routing: this is a login there, so it is one here.
    client = gateways.client()
    assert send(gateways.trusting, "POST", "/users%2flogin", client).json()["raw_path"] == (
        "/users%2Flogin"
    )
    for _ in range(LOGIN_BURST - 1):
        assert send(gateways.trusting, "POST", "/users/login", client).status == 200
    assert send(gateways.trusting, "POST", "/users%2Flogin", client).status == 429


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("/users/../../login", "climbs above the root"),
        ("/users/%00", "control character"),
        ("/users/%zz", "malformed percent-encoding"),
        ("http://elsewhere.example/users/login", "another host"),
        ("*", "must be a path"),
    ],
)
def test_a_target_that_cannot_be_normalised_is_400(gateways: Gateways, target: str, why: str):
    answer = send(gateways.trusting, "GET", target, gateways.client())
    assert error_code(answer, 400) == "bad_request"
    assert why in answer.json()["error"]["message"]


def test_absolute_form_naming_this_gateway_is_routed(gateways: Gateways):
    answer = send(gateways.trusting, "GET", "http://127.0.0.1/users//x?y=1", gateways.client())
    assert (answer.json()["path"], answer.json()["query"]) == ("/users/x", "y=1")


def test_websocket_upgrades_are_limited_on_the_normalised_path(gateways: Gateways):
    client = gateways.client()
    spellings = ["/ws", "//ws", "/./ws", "/%77s", "/ws/"]
    statuses = [upgrade(gateways.trusting, spellings[n % 5], client).status for n in range(BURST)]
    assert statuses == [101] * BURST
    refused = upgrade(gateways.trusting, "/ws", client)
    assert error_code(refused, 429) == "rate_limited"


def test_an_upgrade_of_another_route_is_limited_too(gateways: Gateways):
    client = gateways.client()
    for _ in range(BURST):
        assert upgrade(gateways.trusting, "/users/login", client).status == 404
    assert upgrade(gateways.trusting, "/users/login", client).status == 429


# --- the gateway's own pages ---------------------------------------------------------


def test_the_gateways_own_pages_are_limited_but_health(gateways: Gateways):
    client = gateways.client()
    pages = ["/", "/app/app.js", "/docs", "/openapi.json", "/status", "/nowhere"]
    statuses = [send(gateways.trusting, "GET", pages[n % 6], client).status for n in range(BURST)]
    assert set(statuses) <= {200, 404}, statuses
    for page in pages:
        assert error_code(send(gateways.trusting, "GET", page, client), 429) == "rate_limited"
    assert send(gateways.trusting, "GET", "/health", client).status == 200  # probes


# --- the client behind trusted proxies -------------------------------------------------


def test_forwarding_headers_from_a_trusted_proxy_name_the_client(gateways: Gateways):
    headers = {
        "X-Forwarded-For": "6.6.6.6, 203.0.113.5",  # what the client claimed, then its address
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=7.7.7.7",
    }
    seen = send(gateways.trusting, "GET", "/users/x", headers).json()
    received = dict((name.lower(), value) for name, value in seen["headers"])
    assert received["x-forwarded-for"] == "203.0.113.5"
    assert received["x-forwarded-proto"] == "https"
    assert "forwarded" not in received


def test_each_client_behind_a_trusted_proxy_has_its_own_limit(gateways: Gateways):
    first, second = gateways.client(), gateways.client()
    for _ in range(LOGIN_BURST):
        assert send(gateways.trusting, "POST", "/users/login", first).status == 200
    assert send(gateways.trusting, "POST", "/users/login", first).status == 429
    assert send(gateways.trusting, "POST", "/users/login", second).status == 200


def test_forwarding_headers_from_anyone_else_are_ignored(gateways: Gateways):
    statuses = [
        send(gateways.plain, "POST", "/users/login", {"X-Forwarded-For": f"192.0.2.{n}"}).status
        for n in range(LOGIN_BURST + 1)
    ]
    assert statuses == [200] * LOGIN_BURST + [429]  # one client: the peer
    spoofed = {
        "X-Forwarded-For": "6.6.6.6",
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=7.7.7.7",
    }
    seen = send(gateways.plain, "GET", "/users/x", spoofed).json()
    received = dict((name.lower(), value) for name, value in seen["headers"])
    assert (received["x-forwarded-for"], received["x-forwarded-proto"]) == ("127.0.0.1", "http")
    assert "forwarded" not in received


# --- operator endpoints ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/gateway/status", "/metrics"])
def test_operator_endpoints_answer_operator_networks_and_admins_only(gateways: Gateways, path: str):
    assert send(gateways.trusting, "GET", path).status == 200  # from loopback
    stranger = gateways.client()
    anonymous = send(gateways.trusting, "GET", path, stranger)
    assert error_code(anonymous, 401) == "unauthorized"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forged = {**stranger, "Authorization": "Bearer not.a.token"}
    assert error_code(send(gateways.trusting, "GET", path, forged), 401) == "unauthorized"
    user = {**stranger, "Authorization": f"Bearer {gateways.token('user')}"}
    assert error_code(send(gateways.trusting, "GET", path, user), 403) == "forbidden"
    admin = {**stranger, "Authorization": f"Bearer {gateways.token('admin')}"}
    answer = send(gateways.trusting, "GET", path, admin)
    assert answer.status == 200
    if path == "/gateway/status":
        assert answer.json()["services"]["users"][0]["instance_id"] == "echo-users"


def test_the_status_page_is_a_shell_that_sends_the_apps_token(gateways: Gateways):
    page = send(gateways.trusting, "GET", "/status", gateways.client())
    assert page.status == 200
    text = page.body.decode()
    assert '"litcomp.session"' in text  # web/session.js's key
    assert "Authorization" in text
