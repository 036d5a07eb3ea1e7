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


class Children:
    """The instances ``up`` started; stopped in reverse order of starting."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, service: str, **env: str) -> None:
        command = [sys.executable, "-m", "litcomp.cli", "serve", service]
        process = subprocess.Popen(command, env={**os.environ, **env})
        self.processes.append((service, process))

    def exited(self) -> str | None:
        return next((name for name, p in self.processes if p.poll() is not None), None)

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


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
    """Run discovery, the replicas and the gateway as child processes until Ctrl-C
    (the databases migrated first)."""
    discovery = discovery_settings()
    gateway = gateway_settings()
    children = Children()
    # Instances take any free port and register it; only discovery and gateway are fixed.
    any_port = {
        f"LITCOMP_{s.upper()}_{kind}_PORT": "0" for s in replicas for kind in ("HTTP", "GRPC", "WS")
    }
    _interrupt_on(signal.SIGTERM)  # a process manager's stop is a Ctrl-C too
    try:
        print("starting discovery", flush=True)
        children.start("discovery")
        _wait_until(lambda: _get(f"{discovery.discovery_url}/health") is not None, children)
        for service, count in replicas.items():
            print(f"starting {count} {service} instance(s)", flush=True)
            for _ in range(count):
                children.start(service, **any_port)
        print("starting the gateway", flush=True)
        children.start("gateway")
        url = f"http://{gateway.public_host}:{gateway.gateway_port}"
        _wait_until(lambda: _registered(discovery.discovery_url) >= Counter(replicas), children)
        _wait_until(lambda: _get(f"{url}/health") is not None, children)
        print(f"litcomp is up at {url} (status: {url}/status; Ctrl-C stops it)", flush=True)
        while (stopped := children.exited()) is None:
            time.sleep(0.5)
        print(f"{stopped} stopped; stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        print("stopping litcomp", flush=True)
    finally:
        children.stop()


def _interrupt_on(signum: int) -> None:
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signum, interrupt)


def _registered(discovery_url: str) -> Counter[str]:
    instances = _get(f"{discovery_url}/discovery/instances") or []
    return Counter(instance["service"] for instance in instances)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait_until(ready: Callable[[], bool], children: Children, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        stopped = children.exited()
        if stopped is not None:
            raise SystemExit(f"litcomp did not start: {stopped} exited; see the logs above")
        if time.monotonic() > deadline:
            raise SystemExit("litcomp did not start in time; see the logs above")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
