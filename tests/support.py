"""Helpers for tests that run litcomp as real processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

PASSWORD = "correct horse battery"
REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def from_now(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


def wait_until(ready: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


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


def get_json(url: str) -> Any:
    """GET ``url`` and return its JSON, or None when it cannot be had."""
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def service_env(var_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITCOMP_")}
    env.update({"LITCOMP_VAR_DIR": str(var_dir), **settings})
    return env


@dataclass
class Process:
    """One litcomp instance (``litcomp serve SERVICE``) started by a test."""

    service: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "litcomp.cli", "serve", self.service],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 15) -> int:
        if self.process is None:
            return 0  # never started
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 5) -> list[dict[str, Any]]:
        """The JSON log records mentioning ``text``, once there is at least one."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                json.loads(line)
                for line in self.logs().splitlines()
                if line.startswith("{") and text in line
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@dataclass
class Platform:
    """discovery, the gateway, and replicas of users and competitions, as real processes.

    Tests talk to it through the gateway, as clients do.
    """

    var_dir: Path
    env: dict[str, str]
    discovery: Process
    gateway: Process
    replicas: dict[str, list[Process]]
    gateway_port: int
    discovery_port: int

    @classmethod
    def create(
        cls,
        var_dir: Path,
        settings: Mapping[str, str] | None = None,
        replicas: Mapping[str, int] | None = None,
    ) -> "Platform":
        discovery_port, gateway_port = free_port(), free_port()
        env = service_env(
            var_dir,
            {
                "LITCOMP_DISCOVERY_PORT": str(discovery_port),
                "LITCOMP_DISCOVERY_URL": f"http://127.0.0.1:{discovery_port}",
                "LITCOMP_GATEWAY_PORT": str(gateway_port),
                # Tests sign up many users from one address.
                "LITCOMP_GATEWAY_AUTH_RATE_PER_MINUTE": "100000",
                "LITCOMP_GATEWAY_AUTH_BURST": "100000",
                "LITCOMP_GATEWAY_RATE_BURST": "100000",
                "LITCOMP_GATEWAY_RATE_PER_SECOND": "100000",
                "LITCOMP_GATEWAY_REFRESH_SECONDS": "0.2",
                **(settings or {}),
            },
        )
        counts = replicas or {"users": 1, "competitions": 1}

        def process(service: str, n: int = 0) -> Process:
            return Process(service, env, var_dir / f"{service}-{n}.log")

        return cls(
            var_dir=var_dir,
            env=env,
            discovery=process("discovery"),
            gateway=process("gateway"),
            replicas={s: [process(s, n) for n in range(count)] for s, count in counts.items()},
            gateway_port=gateway_port,
            discovery_port=discovery_port,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def discovery_url(self) -> str:
        return f"http://127.0.0.1:{self.discovery_port}"

    def start(self) -> None:
        """Start everything; if any part fails to come up, stop what did (no orphans)."""
        try:
            self.discovery.start()
            wait_until(lambda: get_json(f"{self.discovery_url}/health"), "discovery")
            for processes in self.replicas.values():
                for each in processes:
                    each.start()
            self.gateway.start()
            wait_until(lambda: get_json(f"{self.url}/health"), "the gateway")
            self.wait_for_instances()
        except BaseException:
            self.stop()
            raise

    def wait_for_instances(self) -> None:
        """Until the gateway routes to exactly the running replicas."""

        def settled() -> bool:
            status = get_json(f"{self.url}/gateway/status")
            if status is None:
                return False
            return all(
                len(status["services"].get(service, [])) == sum(p.running for p in processes)
                for service, processes in self.replicas.items()
            )

        wait_until(settled, "the gateway to see every replica")

    def instance(self, process: Process) -> dict[str, Any]:
        """What discovery knows of this process's registration."""
        listed = get_json(f"{self.discovery_url}/discovery/instances?service={process.service}")
        return next(i for i in listed or [] if f"-{process.pid}-" in i["instance_id"])

    def stop(self) -> None:
        self.gateway.stop()
        for processes in self.replicas.values():
            for each in processes:
                if each.running:
                    each.stop()
        self.discovery.stop()

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "litcomp.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
        )

    def create_admin(self, email: str, username: str, password: str = PASSWORD) -> str:
        made = self.run_cli(
            "create-admin", "--email", email, "--username", username, "--password", password
        )
        assert made.returncode == 0, made.stderr
        return made.stdout


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
