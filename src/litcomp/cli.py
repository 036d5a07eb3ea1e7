"""The ``litcomp`` command: run the platform or one instance, migrate, create admins.

litcomp up [--users N] [--competitions N]   the whole platform (embedded defaults)
litcomp serve SERVICE                        one instance: discovery, gateway,
                                             users or competitions
litcomp migrate [SERVICE ...]                bring databases to the newest schema
litcomp create-admin --email E --username U --password P
"""

import argparse
import asyncio
import importlib
import os
import signal
from collections.abc import Callable, Sequence

from litcomp.discovery.settings import get_settings as discovery_settings
from litcomp.gateway.settings import get_settings as gateway_settings
from litcomp.launcher import Launcher, NotReady, Stopping

# The module that runs each service, imported only to run it: an instance then loads
# its own code and libraries alone (a gateway ~0.7 s of CPU sooner without the other
# apps, FastAPI and SQLAlchemy), and tests and benchmarks start dozens of instances.
SERVICE_MODULES = {
    "discovery": "litcomp.discovery.app",
    "gateway": "litcomp.gateway.process",
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
    args = parser.parse_args(argv)

    if args.command == "serve":
        importlib.import_module(SERVICE_MODULES[args.service]).spec().serve()
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


def up(replicas: dict[str, int]) -> None:
    """Run discovery, the replicas and the gateway as child processes until Ctrl-C or
    SIGTERM (the databases migrated first); a child that exits once the platform is up
    is restarted (``litcomp.launcher``), one that exits while it starts stops it all."""
    gateway = gateway_settings()
    url = f"http://{gateway.public_host}:{gateway.gateway_port}"
    platform = Launcher(
        {"LITCOMP_PUBLIC_URL": url, **os.environ},  # where mails' links lead, unless set
        replicas,
        discovery_url=discovery_settings().discovery_url,
        url=url,
    )
    stopping = _stop_requested_on(signal.SIGINT, signal.SIGTERM)  # a process manager's too
    try:
        platform.start(on_step=lambda step: print(step, flush=True), stopping=stopping)
    except Stopping:
        print("stopping litcomp", flush=True)
        return
    except NotReady as failed:
        raise SystemExit(f"litcomp did not start: {failed}; see the logs above") from None
    url = platform.url
    print(f"litcomp is up at {url} (status: {url}/status; Ctrl-C stops it)", flush=True)
    try:
        platform.supervise(stopping)
        print("stopping litcomp", flush=True)
    finally:
        platform.stop()


def _stop_requested_on(*signums: int) -> Callable[[], bool]:
    """Whether one of these signals has come since (handled: no KeyboardInterrupt, which
    could land between starting a child and recording it, and orphan it)."""
    received: list[int] = []
    for signum in signums:
        signal.signal(signum, lambda number, _: received.append(number))
    return lambda: bool(received)


if __name__ == "__main__":
    main()
