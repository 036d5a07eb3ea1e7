"""Stopping the gateway: what it is answering is answered, kept-alive connections close.

`make faults` restarted the gateway while clients kept reusing their connections: it
stopped listening at once but did not exit until it was killed 15 s later. Now a
stopping gateway closes idle connections and tunnels at once, finishes each answer
in progress (saying ``Connection: close``), cuts what is left after its deadline, and
exits.
"""

import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.gateway.conftest import Edge


def _get(port: int) -> socket.socket:
    """A kept-alive connection that has had one answer and now sits idle."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(b"GET /competitions/anything HTTP/1.1\r\nHost: gateway\r\n\r\n")
    assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    return connection


def test_a_stopping_gateway_answers_what_it_is_working_on_and_closes_the_rest(edge: Edge):
    gateway = edge.platform.gateway
    idle = _get(edge.platform.gateway_port)
    with idle, ThreadPoolExecutor(1) as pool:
        # The echo upstream answers after 0.6 s; the gateway's deadline here is 1 s.
        slow = pool.submit(httpx.post, f"{edge.url}/competitions/slow?seconds=0.6", timeout=5)
        time.sleep(0.2)
        began = time.monotonic()
        gateway.signal(signal.SIGTERM)
        answer = slow.result()
        assert idle.recv(1) == b""  # closed by the gateway, not left open
    assert answer.status_code == 200
    assert answer.json() == {"slept": True}
    assert answer.headers["connection"] == "close"
    assert gateway.process is not None
    assert gateway.process.wait(5) == 0  # exited by itself
    assert time.monotonic() - began < 3
