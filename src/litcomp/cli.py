"""The ``litcomp`` command: run services, migrate databases, create admins.

litcomp up                          the whole platform, embedded defaults
litcomp serve users|competitions    one service instance
litcomp migrate [SERVICE ...]       bring databases to the newest schema
litcomp create-admin --email E --username U --password P
"""

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import httpx
from pydantic import ValidationError

from litcomp.competitions import app as competitions_app
from litcomp.kit.db import create_engine, create_sessionmaker
from litcomp.kit.runner import ServiceSpec, migrate_database, serve
from litcomp.users import app as users_app
from litcomp.users import service as users_service
from litcomp.users.schemas import UserRegister

SPECS: dict[str, Callable[[], ServiceSpec]] = {
    "users": users_app.spec,
    "competitions": competitions_app.spec,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="litcomp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the whole platform in the foreground")
    serve_ = commands.add_parser("serve", help="run one service instance")
    serve_.add_argument("service", choices=SPECS)
    migrate_ = commands.add_parser("migrate", help="apply database migrations")
    migrate_.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
    admin = commands.add_parser("create-admin", help="create an admin, or promote a user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", required=True)
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(SPECS[args.service]())
    elif args.command == "migrate":
        unknown = set(args.services) - set(SPECS)
        if unknown:
            parser.error(f"unknown service: {', '.join(sorted(unknown))}")
        asyncio.run(migrate_all(args.services or list(SPECS)))
    elif args.command == "create-admin":
        asyncio.run(create_admin(args.email, args.username, args.password))
    else:
        up()


async def migrate_all(services: Sequence[str]) -> None:
    for name in services:
        await migrate_database(SPECS[name]())
        print(f"{name}: database is up to date", flush=True)


async def create_admin(email: str, username: str, password: str) -> None:
    """Works while the platform runs: it only talks to the users database."""
    try:
        account = UserRegister(email=email, username=username, password=password)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"create-admin: {problems}") from None
    spec = users_app.spec()
    await migrate_database(spec)
    engine = create_engine(spec.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            user, created = await users_service.create_admin(
                session=session,
                email=account.email,
                username=account.username,
                password=account.password,
            )
    finally:
        await engine.dispose()
    verb = "created admin" if created else "promoted to admin"
    print(f"{verb}: {user.username} <{user.email}> ({user.id})")


def up() -> None:
    """Run every service as a child process until Ctrl-C, then stop them all."""
    asyncio.run(migrate_all(list(SPECS)))
    specs = [spec() for spec in SPECS.values()]
    children = [
        subprocess.Popen([sys.executable, "-m", "litcomp.cli", "serve", spec.name])
        for spec in specs
    ]
    urls = [f"http://{spec.settings.host}:{spec.http_port}" for spec in specs]
    try:
        _wait_healthy([f"{url}/health" for url in urls], children)
        listing = ", ".join(f"{spec.name} on {url}" for spec, url in zip(specs, urls, strict=True))
        print(f"litcomp is up: {listing} (Ctrl-C stops it)", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a service stopped; stopping the others", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait()


def _wait_healthy(urls: Sequence[str], children: Sequence[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    pending = list(urls)
    while pending:
        if time.monotonic() > deadline or any(c.poll() is not None for c in children):
            raise SystemExit("litcomp did not start; see the logs above")
        try:
            if httpx.get(pending[0], timeout=1).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


if __name__ == "__main__":
    main()
