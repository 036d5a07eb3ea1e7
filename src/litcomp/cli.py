"""The ``litcomp`` command: run the platform or one instance, migrate, create admins.

litcomp up [--users N] [--competitions N]   the whole platform (embedded defaults)
litcomp serve SERVICE                        one instance: discovery, gateway,
                                             users or competitions
litcomp migrate [SERVICE ...]                bring databases to the newest schema
litcomp create-admin --email E --username U --password P
litcomp compile                              the gateway's hot path, with mypyc
"""

import argparse
import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from litcomp.discovery.settings import get_settings as discovery_settings
from litcomp.gateway.settings import get_settings as gateway_settings
from litcomp.launcher import Child, stop_all, supervise

# The module that runs each service, imported only to run it: an instance then loads
# its own code and libraries alone (a gateway ~0.7 s of CPU sooner without the other
# apps, FastAPI and SQLAlchemy), and tests and benchmarks start dozens of instances.
SERVICE_MODULES = {
    "discovery": "litcomp.discovery.app",
    "gateway": "litcomp.gateway.app",
    "users": "litcomp.users.app",
    "competitions": "litcomp.competitions.app",
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="litcomp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_ = commands.add_parser("up", help="start the whole platform in the foreground")
    up_.add_argument("--users", type=int, default=1, metavar="N", help="users instances")
    up_.add_argument(
        "--competitions", type=int, default=2, metavar="N", help="competitions instances"
    )
    serve_ = commands.add_parser("serve", help="run one instance")
    serve_.add_argument("service", choices=SERVICE_MODULES)
    migrate_ = commands.add_parser("migrate", help="apply database migrations")
    migrate_.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
    admin_ = commands.add_parser(
        "create-admin",
        help="create an admin, or promote the user with this email "
        "(an existing account keeps its username and password)",
    )
    admin_.add_argument("--email", required=True)
    admin_.add_argument("--username", required=True)
    admin_.add_argument("--password", required=True)
    commands.add_parser("compile", help="compile the gateway's hot path (see litcomp.compiled)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        importlib.import_module(SERVICE_MODULES[args.service]).spec().serve()
        return
    if args.command == "compile":
        compile_hot_path()
        return
    from litcomp import admin  # the other commands work on the databases: see SERVICE_MODULES

    if args.command == "migrate":
        unknown = set(args.services) - set(admin.APPS)
        if unknown:
            parser.error(f"unknown service: {', '.join(sorted(unknown))}")
        asyncio.run(admin.migrate_all(args.services or list(admin.APPS)))
    elif args.command == "create-admin":
        asyncio.run(admin.create_admin(args.email, args.username, args.password))
    else:
        if args.users < 1 or args.competitions < 1:
            parser.error("run at least one instance of each service")
        asyncio.run(admin.migrate_all(list(admin.APPS)))
        up({"users": args.users, "competitions": args.competitions})


def compile_hot_path() -> None:
    from litcomp import compiled

    lacking = compiled.missing()
    if lacking is not None:
        print(f"not compiled, the gateway runs interpreted: this machine lacks {lacking}")
        return
    try:
        built = compiled.build()
    except subprocess.CalledProcessError as failed:
        sys.exit(f"mypyc failed:\n{failed.stdout}{failed.stderr}")
    print(f"compiled with mypyc: {', '.join(compiled.MODULES)}\n  into {built}")


def up(replicas: dict[str, int]) -> None:
    """Run discovery, the replicas and the gateway as child processes until Ctrl-C or
    SIGTERM (the databases migrated first); a child that exits once the platform is up
    is restarted (``litcomp.launcher``), one that exits while it starts stops it all."""
    discovery = discovery_settings()
    gateway = gateway_settings()
    # Instances take any free port and register it; only discovery and gateway are fixed.
    any_port = {
        f"LITCOMP_{s.upper()}_{kind}_PORT": "0" for s in replicas for kind in ("HTTP", "GRPC", "WS")
    }
    env = {**os.environ, **any_port}
    instances = [
        Child(service, f"{service}-{n}", env)
        for service, count in replicas.items()
        for n in range(1, count + 1)
    ]
    children = [Child("discovery", "discovery", env), *instances, Child("gateway", "gateway", env)]
    stopping = _stop_requested_on(signal.SIGINT, signal.SIGTERM)  # a process manager's too
    try:
        print("starting discovery", flush=True)
        children[0].start()
        health = f"{discovery.discovery_url}/health"
        _wait_until(lambda: _get(health) is not None, children, stopping)
        for service, count in replicas.items():
            print(f"starting {count} {service} instance(s)", flush=True)
            for child in instances:
                if child.service == service:
                    child.start()
        print("starting the gateway", flush=True)
        children[-1].start()
        url = f"http://{gateway.public_host}:{gateway.gateway_port}"
        wanted = Counter(replicas)
        _wait_until(lambda: _registered(discovery.discovery_url) >= wanted, children, stopping)
        _wait_until(lambda: _get(f"{url}/health") is not None, children, stopping)
        print(f"litcomp is up at {url} (status: {url}/status; Ctrl-C stops it)", flush=True)
        supervise(children, stopping)
        print("stopping litcomp", flush=True)
    except _Stopped:
        print("stopping litcomp", flush=True)
    finally:
        stop_all(children)


class _Stopped(Exception):
    """Ctrl-C or SIGTERM came while the platform was starting."""


def _stop_requested_on(*signums: int) -> Callable[[], bool]:
    """Whether one of these signals has come since (handled: no KeyboardInterrupt, which
    could land between starting a child and recording it, and orphan it)."""
    received: list[int] = []
    for signum in signums:
        signal.signal(signum, lambda number, _: received.append(number))
    return lambda: bool(received)


def _registered(discovery_url: str) -> Counter[str]:
    instances = _get(f"{discovery_url}/discovery/instances") or []
    return Counter(instance["service"] for instance in instances)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait_until(
    ready: Callable[[], bool],
    children: Sequence[Child],
    stopping: Callable[[], bool],
    timeout: float = 60,
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if stopping():
            raise _Stopped
        stopped = next((c.name for c in children if c.process and not c.running), None)
        if stopped is not None:
            raise SystemExit(f"litcomp did not start: {stopped} exited; see the logs above")
        if time.monotonic() > deadline:
            raise SystemExit("litcomp did not start in time; see the logs above")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
