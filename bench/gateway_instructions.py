"""CPU instructions the gateway spends per proxied request, counted, not timed.

Method
------
Timings on a shared 2-core machine swing by tens of percent from run to run (see
`make bench`'s ``proxies`` part); an instruction count does not. This script drives the
gateway's real code (``ClientConnection``, ``Dispatcher.handle``, the balancer, the
breaker, the rate limiter, the metrics, ``ConnectionPool`` and its response parser) over
in-memory transports inside one uvloop event loop: 16 kept-alive client connections
send ``GET /competitions`` back to back, and the "upstream" answers each request with
a fixed 46-byte JSON answer, as the static nginx of bench/proxies.py does. No
system call is made per request, so what is counted is the gateway's own work.

Valgrind (cachegrind, no cache simulation) counts the instructions of a run of R
rounds of 3,000 requests; the count of a one-round run is subtracted, which removes
start-up and imports: (Ir(R rounds) - Ir(1 round)) / ((R - 1) * 3,000).

``--against REV`` measures a git revision too (checked out in a temporary worktree,
removed after) and prints the ratio: the change's effect, side by side. Each tree is
measured as it runs: built with its hot path compiled by mypyc, as ``make compile``
does (setup.py), where the tree has that build step.

    sudo apt-get install -y valgrind
    .venv/bin/python -m bench.gateway_instructions --against 1d3e513
    .venv/bin/python -m bench.gateway_instructions --interpreted   # what mypyc saves
"""

import argparse
import asyncio
import contextlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

REQUESTS_PER_ROUND = 3000
CONNECTIONS = 16
BODY = b'{"source":"static upstream","competitions":[]}'
ANSWER = (
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(BODY), BODY)
)
REQUEST = b"GET /competitions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n\r\n"
ROOT = Path(__file__).resolve().parent.parent


# --- the driver: run inside valgrind, with the measured tree's src on PYTHONPATH --------


class _Transport(asyncio.Transport):
    """An in-memory transport: what is written is handed to ``deliver`` on the next turn
    of the loop, as a socket's bytes would arrive."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Any) -> None:
        super().__init__()
        self._loop = loop
        self._deliver = deliver
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._loop.call_soon(self._deliver, data)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


class _Loop(uvloop.Loop):
    """uvloop, but its connections to the upstream are in memory: each request the
    gateway writes is answered with ``ANSWER``."""

    async def create_connection(  # type: ignore[override]  # the pool's call only
        self, factory: Any, *_: Any, **__: Any
    ) -> tuple[Any, Any]:
        connection = factory()
        transport = _Transport(self, lambda _data: connection.data_received(ANSWER))
        connection.connection_made(transport)
        return transport, connection


# The gateway's parts as the measured tree names them: since issue 14's renames, then
# before them (``--against`` an older revision; before 2b26856 the dispatcher was in app.py).
_PARTS = {
    "MAX_BODY_BYTES": ("gateway.process", "gateway.app"),
    "connections_for": ("gateway.process", "gateway.app"),
    "Dispatcher": ("gateway.dispatch", "gateway.policy:Gateway", "gateway.app:Gateway"),
    "Forwarder": ("gateway.forwarding", "gateway.proxy:Proxy"),
    "ConnectionPool": ("gateway.pool", "gateway.upstream:Pool"),
    "ClientConnection": ("gateway.client_protocol", "gateway.server"),
    "InstanceTable": ("kit.instance_table", "kit.upstreams:Upstreams"),
}


def _part(name: str) -> Any:
    """``name`` from the first of its places the measured tree has; None if none."""
    for place in _PARTS[name]:
        module, _, attribute = place.partition(":")
        try:
            return getattr(importlib.import_module(f"litcomp.{module}"), attribute or name)
        except (ImportError, AttributeError):
            continue
    return None


async def _drive(rounds: int) -> None:
    from litcomp.gateway.ratelimit import MemoryLimiter
    from litcomp.gateway.routes import ROUTES
    from litcomp.gateway.settings import GatewaySettings
    from litcomp.kit.balancer import BALANCERS, Instance

    loop = asyncio.get_running_loop()
    settings = GatewaySettings(gateway_rate_per_second=1e9, gateway_rate_burst=10**9)
    instances = {
        service: _part("InstanceTable")(
            caller="gateway", service=service, balancer=BALANCERS[settings.gateway_balancer]()
        )
        for service in {route.service for route in ROUTES}
    }
    instances["competitions"].update([Instance("competitions", "static", "127.0.0.1", 9)])
    timeouts = {route.prefix: 5.0 for route in ROUTES}
    forwarder = _part("Forwarder")(_part("ConnectionPool")(), instances, timeouts)
    dispatcher = _part("Dispatcher")(settings, instances, forwarder, MemoryLimiter())
    left = 0
    done: asyncio.Future[None] = loop.create_future()
    # The limits, timeouts and caps, as process.py makes them; before them, the body limit.
    connections_for = _part("connections_for")
    limits = connections_for(settings) if connections_for else _part("MAX_BODY_BYTES")
    client_connection = _part("ClientConnection")

    def client() -> Any:
        connection = client_connection(dispatcher.handle, dispatcher.tunnel, limits)

        def answered(_data: bytes) -> None:
            nonlocal left
            left -= 1
            if left > 0:
                connection.data_received(REQUEST)
            elif not done.done():
                done.set_result(None)

        connection.connection_made(_Transport(loop, answered))
        return connection

    clients = [client() for _ in range(CONNECTIONS)]
    for _ in range(rounds):
        left, done = REQUESTS_PER_ROUND, loop.create_future()
        for connection in clients:
            connection.data_received(REQUEST)
        await done
        await asyncio.sleep(0.01)  # the round's last answers, beyond the count
    for connection in clients:
        connection.connection_lost(None)  # ends its worker task
    await asyncio.sleep(0)


def drive(rounds: int) -> None:
    import logging

    logging.disable(logging.INFO)
    loop = _Loop()
    try:
        loop.run_until_complete(_drive(rounds))
    finally:
        loop.close()


# --- the measurement --------------------------------------------------------------------


def instructions(src: Path, rounds: int) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.gateway_instructions",
        "--drive",
        str(rounds),
    ]
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_request(src: Path, rounds: int) -> float:
    extra = instructions(src, rounds) - instructions(src, 1)
    return extra / ((rounds - 1) * REQUESTS_PER_ROUND)


def installed(tree: Path, into: Path) -> tuple[Path, str]:
    """``tree`` built as ``make compile`` builds it (setup.py: the hot path compiled by
    mypyc), installed into ``into``; returns where to import litcomp from and how it runs.
    A tree without that build step runs from its source, interpreted."""
    if not (tree / "setup.py").exists():
        return tree / "src", "interpreted: no setup.py"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([ROOT / "scripts" / "build_wheel.sh", tree, into], env=env, check=True)
    return into / "site", "compiled with mypyc"


@contextlib.contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """``revision``, in a temporary git worktree removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="litcomp-rev-") as temp:
        tree = Path(temp) / "tree"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="a git revision to compare with")
    parser.add_argument(
        "--interpreted", action="store_true", help="measure this tree's source uncompiled too"
    )
    parser.add_argument("--rounds", type=int, choices=range(2, 11), default=4, metavar="2-10")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)  # inside valgrind
    args = parser.parse_args()
    if args.drive:
        drive(args.drive)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind: sudo apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="litcomp-build-") as temp:
        src, mode = installed(ROOT, Path(temp))
        here = per_request(src, args.rounds)
    print(f"this tree: {here:,.0f} instructions per proxied request ({mode})")
    if args.interpreted:
        plain = per_request(ROOT / "src", args.rounds)
        print(f"this tree, interpreted: {plain:,.0f} instructions per proxied request")
        print(f"compiled / interpreted: {here / plain:.3f}")
    if args.against:
        with checked_out(args.against) as tree, tempfile.TemporaryDirectory() as temp:
            src, mode = installed(tree, Path(temp))
            there = per_request(src, args.rounds)
        print(f"{args.against}: {there:,.0f} instructions per proxied request ({mode})")
        print(f"this tree / {args.against}: {here / there:.3f}")


if __name__ == "__main__":
    main()
