"""Helpers for tests that run litcomp as real processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

PASSWORD = "correct horse battery"


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


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy in {timeout} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@dataclass
class Instance:
    """One service process started by a test."""

    name: str
    env: dict[str, str]
    http_port: int
    grpc_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "litcomp.cli", "serve", self.name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(self.url, self.process)

    def stop(self) -> int:
        assert self.process is not None
        return stop(self.process)

    def logs(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 5) -> list[dict[str, object]]:
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


def service_env(var_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITCOMP_")}
    env.update({"LITCOMP_VAR_DIR": str(var_dir), **settings})
    return env


@dataclass
class Platform:
    """A users and a competitions instance wired to each other, over real gRPC."""

    users: Instance
    competitions: Instance
    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, var_dir: Path, database_urls: Mapping[str, str] | None = None) -> "Platform":
        ports = {name: free_port() for name in ("uh", "ug", "ch", "cg")}
        settings = {
            "LITCOMP_USERS_HTTP_PORT": str(ports["uh"]),
            "LITCOMP_USERS_GRPC_PORT": str(ports["ug"]),
            "LITCOMP_COMPETITIONS_HTTP_PORT": str(ports["ch"]),
            "LITCOMP_COMPETITIONS_GRPC_PORT": str(ports["cg"]),
            "LITCOMP_USERS_GRPC_TARGET": f"127.0.0.1:{ports['ug']}",
            "LITCOMP_COMPETITIONS_GRPC_TARGET": f"127.0.0.1:{ports['cg']}",
            "LITCOMP_USERS_JWKS_URL": f"http://127.0.0.1:{ports['uh']}/users/.well-known/jwks.json",
            **(database_urls or {}),
        }
        env = service_env(var_dir, settings)
        users = Instance("users", env, ports["uh"], ports["ug"], var_dir / "users.log")
        competitions = Instance(
            "competitions", env, ports["ch"], ports["cg"], var_dir / "competitions.log"
        )
        return cls(users=users, competitions=competitions, var_dir=var_dir, env=env)

    def start(self) -> None:
        self.users.start()
        self.competitions.start()

    def stop(self) -> None:
        self.competitions.stop()
        self.users.stop()

    def create_admin(self, email: str, username: str, password: str = PASSWORD) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "litcomp.cli",
                "create-admin",
                "--email",
                email,
                "--username",
                username,
                "--password",
                password,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout


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
