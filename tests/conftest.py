"""Fixtures shared by every test: throwaway PostgreSQL databases and a running platform.

Tests never touch a database they did not create: each run makes its own, named
``litcomp_test_<random>_<service>``, and drops it at the end.
"""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest

from tests.support import Account, Platform, log_in, notices, sign_up, unique
from tests.support.mailbox import Mailbox

ADMIN_URL = os.environ.get(
    "LITCOMP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin(sql: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(ADMIN_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    # In a thread of its own, so async tests (whose loop is running) can call it too.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[str], str]]:
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    def make(service: str) -> str:
        name = f"litcomp_test_{run}_{service}_{uuid.uuid4().hex[:6]}"
        _admin(f'CREATE DATABASE "{name}"')
        created.append(name)
        base = ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{name}"

    yield make
    for name in created:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def platform(
    make_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The whole platform on PostgreSQL, for the whole run: discovery, the gateway,
    one users and two competitions instances."""
    running = Platform.create(
        tmp_path_factory.mktemp("platform"),
        {
            "LITCOMP_USERS_DATABASE_URL": make_database("users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": make_database("competitions"),
        },
        replicas={"users": 1, "competitions": 2},
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def users(platform: Platform) -> Iterator[httpx.Client]:
    """A client of the users API (through the gateway)."""
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def competitions(platform: Platform) -> Iterator[httpx.Client]:
    """A client of the competitions API (through the gateway); notices it lists are checked."""
    with httpx.Client(base_url=platform.url, timeout=10, event_hooks=notices.HOOKS) as client:
        yield client


@pytest.fixture(scope="session")
def admin(platform: Platform, users: httpx.Client) -> Account:
    username = unique("admin")
    email = f"{username}@example.com"
    platform.create_admin(email, username)
    return log_in(users, email, username)


@pytest.fixture
def writer(users: httpx.Client) -> Account:
    return sign_up(users, "writer")


@pytest.fixture
def reader(users: httpx.Client) -> Account:
    return sign_up(users, "reader")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server in the test process, for a platform whose mail goes to it."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()
