"""Helpers for tests that run litcomp as real processes."""

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import httpx
from redis import Redis

# The tests' free_port, get_json and wait_until are litcomp's own: one set of helpers.
from litcomp.launcher import Child, Launcher, get_json, wait_until
from litcomp.launcher import free_port as free_port

PASSWORD = "correct horse battery"
REDIS_URL = "redis://127.0.0.1:6379/0"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def from_now(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


class FakeClock:
    """A monotonic clock for pure code under test: time stands still until a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def asyncpg_url(url: str) -> str:
    """A database URL as the tests have it, for SQLAlchemy's asyncpg driver."""
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def ws_url(url: str) -> str:
    """An http:// URL (the gateway's, a replica's) as the ws:// one websockets' client takes."""
    return url.replace("http://", "ws://", 1)


def service_env(var_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITCOMP_")}
    env.update({"LITCOMP_VAR_DIR": str(var_dir), **settings})
    return env


class Process(Child):
    """One ``litcomp serve SERVICE`` started by a test, logging to ``log_path``: the
    launcher's ``Child``, made as tests have always made it."""

    def __init__(self, service: str, env: Mapping[str, str], log_path: Path) -> None:
        super().__init__(service, log_path.stem, env, log=log_path)

    @property
    def log_path(self) -> Path:
        assert self.log is not None
        return self.log


# What every test platform's gateway allows (tests sign up many users from one address),
# and how soon its instances learn who is suspended.
TEST_SETTINGS = {
    "LITCOMP_GATEWAY_AUTH_RATE_PER_MINUTE": "100000",
    "LITCOMP_GATEWAY_AUTH_BURST": "100000",
    "LITCOMP_GATEWAY_RATE_BURST": "100000",
    "LITCOMP_GATEWAY_RATE_PER_SECOND": "100000",
    "LITCOMP_GATEWAY_REFRESH_SECONDS": "0.2",
    # Suspensions reach every instance within this (tests wait for it with a deadline).
    "LITCOMP_SUSPENSIONS_REFRESH_SECONDS": "0.5",
}


class Platform(Launcher):
    """discovery, the gateway, and replicas of users and competitions, as real processes
    started by ``litcomp.launcher`` (as ``litcomp up`` does), each logging to
    ``<var_dir>/<name>.log``.

    Tests talk to it through the gateway, as clients do.
    """

    @classmethod
    def create(
        cls,
        var_dir: Path,
        settings: Mapping[str, str] | None = None,
        replicas: Mapping[str, int] | None = None,
    ) -> Self:
        env = service_env(var_dir, {**TEST_SETTINGS, **(settings or {})})
        counts = {"users": 1, "competitions": 1} if replicas is None else replicas
        return cls.on_free_ports(env, counts, logs=var_dir)

    def child(self, service: str, name: str, **env: str) -> Process:
        return Process(service, {**self.env, **env}, self.var_dir / f"{name}.log")

    @property
    def var_dir(self) -> Path:
        return Path(self.env["LITCOMP_VAR_DIR"])

    @property
    def gateway_port(self) -> int:
        return int(self.env["LITCOMP_GATEWAY_PORT"])

    @property
    def discovery_port(self) -> int:
        return int(self.env["LITCOMP_DISCOVERY_PORT"])

    def ready(self) -> bool:
        """Whether the gateway routes to exactly the running replicas (what tests start
        with; the launcher's own check is only that they registered)."""
        status = get_json(f"{self.url}/gateway/status")
        if status is None:
            return False
        return all(
            len(status["services"].get(service, [])) == sum(p.running for p in processes)
            for service, processes in self.replicas.items()
        )

    def wait_for_instances(self) -> None:
        """Until the gateway routes to exactly the running replicas."""
        wait_until(self.ready, "the gateway to see every replica")

    def instance(self, child: Child) -> dict[str, Any]:
        """What discovery knows of this process's registration."""
        found = super().instance(child)
        assert found is not None, f"{child.name} is not registered"
        return found

    def create_admin(self, email: str, username: str, password: str = PASSWORD) -> str:
        return super().create_admin(email, username, password)


@dataclass
class Account:
    user_id: str
    username: str
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def sign_up(users: httpx.Client, prefix: str = "user") -> Account:
    username = unique(prefix)
    email = f"{username}@example.com"
    registered = users.post(
        "/users/register", json={"username": username, "email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    return log_in(users, email, username)


def log_in(users: httpx.Client, email: str, username: str) -> Account:
    response = users.post("/users/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(body["user_id"], username, email, body["token"])


def expect_error(response: httpx.Response, status: int) -> dict[str, object]:
    """Assert the response is our JSON error with this status; return its error object."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert "Traceback" not in response.text
    return dict(error)


def create_competition(
    competitions: httpx.Client,
    admin: Account,
    title: str = "Short stories",
    *,
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=2),
    **fields: object,
) -> str:
    start = datetime.now(UTC) + starts_in
    response = competitions.post(
        "/competitions",
        json={
            "title": title,
            "description": f"{title}: a competition",
            "start_date": iso(start),
            "end_date": iso(start + lasts),
            **fields,
        },
        headers=admin.auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["competition_id"])


@contextmanager
def platform_on_redis(
    var_dir: Path, make_database: Callable[[str], str], name: str, **settings: str
) -> Iterator[Platform]:
    """The platform as deployed: its own PostgreSQL databases, the machine's Redis
    under a key prefix of its own (deleted afterwards), discovery, the gateway, one
    users and two competitions replicas."""
    prefix = f"litcomp-test-{uuid.uuid4().hex[:8]}"
    platform = Platform.create(
        var_dir,
        {
            "LITCOMP_USERS_DATABASE_URL": make_database(f"{name}_users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": make_database(f"{name}_competitions"),
            "LITCOMP_REDIS_URL": REDIS_URL,
            "LITCOMP_REDIS_PREFIX": prefix,
            **settings,
        },
        replicas={"users": 1, "competitions": 2},
    )
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
        # Synchronous: Playwright's sync API keeps an event loop running in its thread.
        with Redis.from_url(REDIS_URL) as redis:
            for key in redis.scan_iter(f"{prefix}:*"):
                redis.delete(key)
