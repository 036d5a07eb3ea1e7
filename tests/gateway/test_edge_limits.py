"""The gateway as it faces the open internet, over raw sockets: size limits, timeouts,
connection caps, backpressure, pipelining with refusals, Host and trailers, and what
the answers say of the instances.

Timeouts are short here (settings), and memory is the gateway's own (VmRSS).
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.gateway.conftest import Edge, running_edge

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
IDLE_TIMEOUT = 3.0
MAX_CONNECTIONS = 24
MAX_PER_CLIENT = 16
TRUSTED_PROXY = "127.0.0.4"  # a load balancer: many clients' connections
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    settings = {
        "LITCOMP_GATEWAY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "LITCOMP_GATEWAY_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "LITCOMP_GATEWAY_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
        "LITCOMP_GATEWAY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "LITCOMP_GATEWAY_MAX_CONNECTIONS_PER_CLIENT": str(MAX_PER_CLIENT),
        "LITCOMP_GATEWAY_TRUSTED_PROXIES": TRUSTED_PROXY + "/32",
    }
    with running_edge(tmp_path_factory.mktemp("limits"), settings) as edge:
        yield edge


class Answer:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


class Client:
    """A raw connection to the gateway that reads answers as they come."""

    def __init__(self, edge: Edge, source: str = "127.0.0.1", timeout: float = 5) -> None:
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", edge.platform.gateway_port))
        self._buffer = b""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self._buffer += data
        return bool(data)

    def answer(self) -> Answer | None:
        """The next answer, or None if the gateway closed the connection first."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._more():
                assert self._buffer == b"", self._buffer
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = [
            (name.strip().lower(), value.strip())
            for name, value in (line.split(":", 1) for line in lines[1:])
        ]
        length = int(next(value for name, value in headers if name == "content-length"))
        while len(self._buffer) < length:
            assert self._more(), "closed in the middle of an answer"
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Answer(int(lines[0].split()[1]), headers, body)

    def closed(self) -> bool:
        """Whether the gateway closed the connection, with nothing more to read."""
        return self.answer() is None


def get(target: str, *headers: str, host: bool = True) -> bytes:
    lines = [f"GET {target} HTTP/1.1", *(["Host: gateway"] if host else []), *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def rss(edge: Edge) -> int:
    """The gateway's resident memory, in bytes."""
    with open(f"/proc/{edge.platform.gateway.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def error_code(answer: Answer | None) -> str:
    assert answer is not None
    return str(json.loads(answer.body)["error"]["code"])


# --- sizes ----------------------------------------------------------------------------


def test_a_target_up_to_8_kib_passes_and_a_longer_one_is_414(edge: Edge):
    with Client(edge) as client:
        at_limit = "/" + "a" * 8191  # the gateway's own 404: the echo takes no such line
        client.send(get(at_limit))
        answer = client.answer()
        assert answer is not None and answer.status == 404
        client.send(get(at_limit + "a"))
        refused = client.answer()
        assert refused is not None and refused.status == 414
        assert error_code(refused) == "uri_too_long"
        assert refused.header("connection") == "close"
        assert client.closed()


def test_a_target_that_never_ends_is_cut_at_the_limit(edge: Edge):
    with Client(edge) as client:
        client.send(b"GET /competitions/" + b"a" * 20000)
        refused = client.answer()
        assert refused is not None and refused.status == 414


def test_100_fields_pass_and_101_are_431(edge: Edge):
    with Client(edge) as client:
        fields = [f"x-field-{n}: {n}" for n in range(99)]  # and Host
        client.send(get("/competitions/many", *fields))
        answer = client.answer()
        assert answer is not None and answer.status == 200
        client.send(get("/competitions/many", *fields, "x-one-more: 1"))
        refused = client.answer()
        assert refused is not None and refused.status == 431
        assert error_code(refused) == "header_fields_too_large"
        assert client.closed()


def test_a_header_section_over_32_kib_is_431(edge: Edge):
    with Client(edge) as client:
        fields = [f"x-{n}: {'v' * 8000}" for n in range(5)]
        client.send(get("/competitions/big-headers", *fields[:4]))
        answer = client.answer()
        assert answer is not None and answer.status == 200  # 4 x 8 KiB: within
        client.send(get("/competitions/big-headers", *fields))
        refused = client.answer()
        assert refused is not None and refused.status == 431


def test_a_header_line_that_never_ends_is_cut_not_buffered(edge: Edge):
    """16 MiB of one header line grew the gateway by 16 MiB, and it never answered."""
    before = rss(edge)
    with Client(edge) as client:
        client.send(b"GET /competitions/x HTTP/1.1\r\nHost: gateway\r\nX-Endless: ")

        def flood() -> None:
            with contextlib.suppress(OSError):  # closed by the gateway: enough was sent
                for _ in range(16 * 16):
                    client.sock.sendall(b"a" * 65536)

        sender = threading.Thread(target=flood)
        sender.start()
        refused = client.answer()
        sender.join()
        assert refused is not None and refused.status == 431
    assert rss(edge) - before < 4 * MiB


def test_a_body_declared_over_1_mib_is_413_before_it_is_sent(edge: Edge):
    with Client(edge) as client:
        client.send(
            b"POST /competitions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 1048577\r\n\r\n"
        )
        refused = client.answer()  # nothing of the body was sent
        assert refused is not None and refused.status == 413
        assert error_code(refused) == "payload_too_large"
        assert refused.header("connection") == "close"


def test_a_chunked_body_over_1_mib_is_413_as_soon_as_it_is(edge: Edge):
    with Client(edge) as client:
        client.send(
            b"POST /competitions HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"200000\r\n"  # a 2 MiB chunk, of which just over 1 MiB is sent
            + b"x" * (MiB + 1)
        )
        refused = client.answer()
        assert refused is not None and refused.status == 413


# --- timeouts --------------------------------------------------------------------------


def test_headers_that_do_not_arrive_in_time_are_408(edge: Edge):
    with Client(edge) as client:
        client.send(b"GET /competitions/x HTTP/1.1\r\nHost: gateway\r\n")
        began = time.monotonic()
        refused = client.answer()
        assert refused is not None and refused.status == 408
        assert error_code(refused) == "request_timeout"
        assert HEADER_TIMEOUT <= time.monotonic() - began < HEADER_TIMEOUT + 1
        assert client.closed()


def test_a_body_that_stops_is_408_and_one_that_moves_is_not(edge: Edge):
    with Client(edge) as client:
        head = b"POST /competitions/x HTTP/1.1\r\nHost: gateway\r\nContent-Length: 6\r\n\r\n"
        client.send(head)
        for byte in b"moving":  # 2.4 s in all, never 1 s without a byte
            time.sleep(0.4)
            client.send(bytes([byte]))
        answer = client.answer()
        assert answer is not None and answer.status == 200
        client.send(head + b"sto")
        began = time.monotonic()
        refused = client.answer()
        assert refused is not None and refused.status == 408
        assert BODY_TIMEOUT <= time.monotonic() - began < BODY_TIMEOUT + 1


def test_a_connection_that_sends_nothing_is_closed(edge: Edge):
    with Client(edge) as client:
        began = time.monotonic()
        assert client.closed()  # without an answer
        assert HEADER_TIMEOUT <= time.monotonic() - began < HEADER_TIMEOUT + 1


def test_an_idle_kept_alive_connection_closes_after_the_idle_time(edge: Edge):
    with Client(edge) as client:
        client.send(get("/competitions/x"))
        assert client.answer() is not None
        began = time.monotonic()
        assert client.closed()
        assert IDLE_TIMEOUT <= time.monotonic() - began < IDLE_TIMEOUT + 1


def test_a_client_reading_a_large_answer_slowly_is_not_cut(edge: Edge):
    """Its answer stays over the write buffer's mark for longer than the idle time, but
    it moves: only a client that reads nothing that long is cut."""
    size = 12 * MiB
    with Client(edge) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.send(get(f"/competitions/big?bytes={size}"))
        began = time.monotonic()
        received = 0
        while received < size + 100:  # ~2 MiB/s: the gateway waits on it for ~4 s
            data = client.sock.recv(131072)
            if not data:
                break
            received += len(data)
            time.sleep(0.06)
        assert received > size, f"cut after {received} bytes"
        assert time.monotonic() - began > IDLE_TIMEOUT


def test_a_client_that_reads_nothing_of_its_answers_is_cut(edge: Edge):
    with Client(edge) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.send(get(f"/competitions/big?bytes={12 * MiB}"))
        time.sleep(IDLE_TIMEOUT + 1)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while data := client.sock.recv(1 << 20):
                received += len(data)
        assert received < 12 * MiB  # what the buffers held, then the cut


# --- connection caps -----------------------------------------------------------------


def _refused_for_connections(client: Client) -> None:
    refused = client.answer()
    assert refused is not None and refused.status == 503
    assert error_code(refused) == "too_many_connections"
    assert refused.header("connection") == "close"
    assert client.closed()


def test_open_connections_are_capped_per_client_and_in_all(edge: Edge):
    held: list[Client] = []
    try:
        for _ in range(MAX_PER_CLIENT):
            held.append(Client(edge))
        held[-1].send(get("/health"))
        answer = held[-1].answer()
        assert answer is not None and answer.status == 200  # all admitted
        with Client(edge) as one_more:
            _refused_for_connections(one_more)
        for _ in range(MAX_CONNECTIONS - MAX_PER_CLIENT):
            held.append(Client(edge, source="127.0.0.2"))
        held[-1].send(get("/health"))
        answer = held[-1].answer()
        assert answer is not None and answer.status == 200
        with Client(edge, source="127.0.0.3") as elsewhere:
            _refused_for_connections(elsewhere)
        held.pop(0).sock.close()  # one slot free again
        time.sleep(0.2)
        with Client(edge, source="127.0.0.3") as elsewhere:
            elsewhere.send(get("/health"))
            answer = elsewhere.answer()
            assert answer is not None and answer.status == 200
    finally:
        for client in held:
            client.sock.close()


def test_a_trusted_proxy_counts_toward_the_whole_only(edge: Edge):
    held = [Client(edge, source=TRUSTED_PROXY) for _ in range(MAX_PER_CLIENT + 2)]
    try:
        held[-1].send(get("/health"))
        answer = held[-1].answer()
        assert answer is not None and answer.status == 200
    finally:
        for client in held:
            client.sock.close()


# --- backpressure --------------------------------------------------------------------


def _grows_by(edge: Edge, seconds: float, bound: int) -> int:
    """How much the gateway grows within ``seconds`` (stopping early past ``bound``)."""
    before = rss(edge)
    grown = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and grown <= bound:
        time.sleep(0.1)
        grown = max(grown, rss(edge) - before)
    return grown


def test_pipelined_large_answers_never_read_keep_memory_bounded(edge: Edge):
    """43 pipelined GETs of a large file, never read, grew the gateway by 60 MiB."""
    with Client(edge) as warm:  # the gateway's buffers for one large answer, once
        warm.send(get("/competitions/big?bytes=1048576"))
        assert warm.answer() is not None
    with Client(edge) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.send(b"".join(get(f"/competitions/big?bytes=1048576&n={n}") for n in range(80)))
        grown = _grows_by(edge, 2.5, 24 * MiB)
        print(f"\ngateway memory growth with 80 x 1 MiB answers unread: {grown / MiB:.1f} MiB")
        assert grown < 8 * MiB
        client.sock.settimeout(10)
        assert all(client.answer() is not None for _ in range(3))  # and it goes on


def test_a_flood_of_tiny_pipelined_requests_keeps_memory_bounded(edge: Edge):
    with Client(edge) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        flood = get("/health") * 40000  # 1.5 MB of requests, answers never read

        def send() -> None:
            with contextlib.suppress(OSError):  # timed out: the gateway stopped reading
                client.sock.sendall(flood)

        sender = threading.Thread(target=send)
        sender.start()
        grown = _grows_by(edge, 2.0, 32 * MiB)
        sender.join()
        print(f"\ngateway memory growth with 40,000 pipelined requests: {grown / MiB:.1f} MiB")
        assert grown < 8 * MiB


def _open_tunnel(client: Client, query: str) -> None:
    client.send(
        f"GET /ws?{query} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head


def test_a_tunnel_to_a_client_that_does_not_read_pauses_the_instance(edge: Edge):
    with Client(edge) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        _open_tunnel(client, "flood=800")  # 50 MiB from the instance
        grown = _grows_by(edge, 2.5, 24 * MiB)
        print(f"\ngateway growth, 50 MiB tunnelled to a client not reading: {grown / MiB:.1f} MiB")
        assert grown < 8 * MiB


def test_a_tunnel_to_an_instance_that_does_not_read_pauses_the_client(edge: Edge):
    with Client(edge, timeout=0.5) as client:
        _open_tunnel(client, "deaf=4")
        before = rss(edge)
        sent = 0
        # A binary frame of 64 KiB, masked as a client's must be (0x80 | 127: a 64-bit length
        # and a masking key follow); an instance refuses an unmasked one at once.
        chunk = b"\x82\xff" + (65536).to_bytes(8, "big") + b"mask" + b"m" * 65536
        deadline = time.monotonic() + 3
        try:
            while time.monotonic() < deadline and sent < 48 * MiB:
                client.sock.sendall(chunk)
                sent += len(chunk)
        except TimeoutError:
            pass  # the gateway stopped reading: the point
        grown = rss(edge) - before
        print(f"\nsent {sent / MiB:.1f} MiB to a deaf instance, gateway grew {grown / MiB:.1f} MiB")
        assert grown < 8 * MiB


# --- what a request must be ------------------------------------------------------------


def test_http_1_1_needs_exactly_one_host(edge: Edge):
    for request in (
        get("/competitions/x", host=False),
        get("/competitions/x", "Host: other"),
    ):
        with Client(edge) as client:
            client.send(request)
            refused = client.answer()
            assert refused is not None and refused.status == 400, request
            assert client.closed()
    with Client(edge) as client:
        client.send(b"GET /competitions/x HTTP/1.0\r\n\r\n")  # HTTP/1.0 may leave it out
        answer = client.answer()
        assert answer is not None and answer.status == 200


def test_trailer_fields_never_join_the_headers(edge: Edge):
    with Client(edge) as client:
        client.send(
            b"POST /competitions/x HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nhi\r\n0\r\nAuthorization: Bearer sneaked\r\nX-Late: 1\r\n\r\n"
        )
        answer = client.answer()
        assert answer is not None and answer.status == 200
        received = json.loads(answer.body)
        names = {name.lower() for name, _ in received["headers"]}
        assert "authorization" not in names and "x-late" not in names
        assert received["body"] == "hi"


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (get("/competitions/x", host=False), 400),
        (b"POST /competitions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2000000\r\n\r\n", 413),
        (get("/competitions/" + "a" * 9000), 414),
        (get("/competitions/x", *(f"x-{n}: 1" for n in range(120))), 431),
    ],
)
def test_a_bad_request_after_good_ones_is_refused_after_their_answers(
    edge: Edge, bad: bytes, status: int
):
    """The PATCH used to be applied while its answer was dropped for the 400."""
    with Client(edge) as client:
        client.send(
            b"PATCH /competitions/slow?seconds=0.3 HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Length: 2\r\n\r\n{}" + get("/competitions/second") + bad
        )
        first, second, refused = client.answer(), client.answer(), client.answer()
        assert first is not None and first.status == 200 and b"slept" in first.body
        assert second is not None and second.status == 200
        assert b"/competitions/second" in second.body
        assert refused is not None and refused.status == status
        assert refused.header("connection") == "close"
        assert client.closed()


# --- what answers say ------------------------------------------------------------------


def test_no_internal_address_leaves_the_gateway(edge: Edge):
    with Client(edge) as client:
        client.send(get("/competitions/redirect"))
        answer = client.answer()
        assert answer is not None and answer.status == 302
        assert answer.header("location") == "/competitions/landed?x=1"
        assert answer.header("server") is None  # the instance's
        client.send(get("/competitions/redirect?to=https://example.org/elsewhere"))
        elsewhere = client.answer()
        assert elsewhere is not None
        assert elsewhere.header("location") == "https://example.org/elsewhere"
