"""The ``litcomp`` command: run the platform or one instance, migrate, create admins.

litcomp up [--users N] [--competitions N]   the whole platform (embedded defaults)
litcomp serve SERVICE                        one instance: discovery, gateway,
                                             users or competitions
litcomp migrate [SERVICE ...]                bring databases to the newest schema
litcomp create-admin --email E --username U --password P
litcomp demo [--url URL]                     fill an empty running platform with samples
litcomp up --demo                            the same, once the platform is up
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
    up_.add_argument("--demo", action="store_true", help="fill it with sample data once up")
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
    demo_ = commands.add_parser(
        "demo", help="fill an empty running platform with sample competitions, writers, stories"
    )
    demo_.add_argument("--url", help="the platform's address (default: this machine's gateway)")
    demo_.add_argument(
        "--phase-seconds",
        type=float,
        default=6.0,
        help="how long the finished competitions' last phases last while the demo waits",
    )
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
    elif args.command == "demo":
        demo(args.url or _gateway_url(), args.phase_seconds)
    else:
        if args.users < 1 or args.competitions < 1:
            parser.error("run at least one instance of each service")
        asyncio.run(admin.migrate_all(list(admin.APPS)))
        up({"users": args.users, "competitions": args.competitions}, with_demo=args.demo)


def _gateway_url() -> str:
    gateway = gateway_settings()
    return f"http://{gateway.public_host}:{gateway.gateway_port}"


def demo(url: str, phase_seconds: float) -> None:
    """``litcomp demo``: refused (SystemExit, saying why) unless the platform is empty."""
    import httpx

    from litcomp import admin, demo_content
    from litcomp.demo import NotEmpty, email_of, fill, refuse_unless_empty

    with httpx.Client(base_url=url, timeout=30) as http:
        try:
            refuse_unless_empty(http)
        except NotEmpty as refused:
            raise SystemExit(str(refused)) from None
        name = demo_content.ADMIN.username
        asyncio.run(admin.demo_admin(email_of(name), name, demo_content.PASSWORD))
        fill(http, phase_seconds=phase_seconds)


def up(replicas: dict[str, int], *, with_demo: bool = False) -> None:
    """Run discovery, the replicas and the gateway as child processes until Ctrl-C or
    SIGTERM (the databases migrated first); a child that exits once the platform is up
    is restarted (``litcomp.launcher``), one that exits while it starts stops it all.
    ``with_demo``: fill it with sample data once up (``demo``; a refusal is printed and
    the platform runs on)."""
    url = _gateway_url()
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
        if with_demo:
            try:
                demo(url, phase_seconds=6.0)
            except (SystemExit, Exception) as failed:  # the platform runs on, empty
                print(f"no demo data: {failed}", flush=True)
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
