"""The people of the benchmarks and the fault scenarios, over HTTP straight to a users
instance (setting up is not what the gateway's login limit is for): sign-up, log-in,
an admin made with ``litcomp create-admin``, the body of an open competition, and open
competitions made by an admin."""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from bench.stack import Stack

PASSWORD = "bench password 1"
RETRY_FOR_SECONDS = 60
DOMAIN = "bench.example"


@dataclass(frozen=True)
class Person:
    user_id: str
    email: str
    token: str

    @property
    def username(self) -> str:
        """The name signed up with: every bench email is ``<username>@bench.example``."""
        return self.email.partition("@")[0]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def open_competition(title: str, description: str, days: float) -> dict[str, str]:
    """The body creating a competition that opened an hour ago and runs ``days`` more."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return {
        "title": title,
        "description": description,
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=days)).isoformat(),
    }


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, str]) -> httpx.Response:
    """POST, again after each 503's Retry-After for up to a minute, as a client would: a
    burst of sign-ups fills the users instance's password queue (503 ``overloaded``) or,
    on a loaded machine, outwaits its database pool."""
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    while True:
        response = await http.post(url, json=body)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "0.5")))


async def sign_up(http: httpx.AsyncClient, users_url: str, name: str) -> Person:
    email = f"{name}@{DOMAIN}"
    body = {"username": name, "email": email, "password": PASSWORD}
    response = await _post(http, f"{users_url}/users/register", body)
    if response.status_code != 201:
        raise SystemExit(f"register {name}: {response.status_code} {response.text}")
    return await log_in(http, users_url, email)


async def log_in(http: httpx.AsyncClient, users_url: str, email: str) -> Person:
    body = {"email": email, "password": PASSWORD}
    response = await _post(http, f"{users_url}/users/login", body)
    if response.status_code != 200:
        raise SystemExit(f"login {email}: {response.status_code} {response.text}")
    answer = response.json()
    return Person(str(answer["user_id"]), email, str(answer["token"]))


def create_admin(stack: Stack, name: str) -> str:
    """An admin named ``name``; returns its email."""
    email = f"{name}@{DOMAIN}"
    stack.create_admin(email, name, PASSWORD)
    return email


async def open_competitions(
    competitions_url: str, users_url: str, admin_email: str, count: int
) -> list[str]:
    """``count`` open competitions made by the admin, ending a minute apart; their ids."""
    async with httpx.AsyncClient(timeout=60) as http:
        admin = await log_in(http, users_url, admin_email)
        created = []
        for n in range(count):
            body = open_competition(
                f"Bench {n}", "Stories written while a benchmark runs.", 2 + n / 1440
            )
            response = await http.post(
                f"{competitions_url}/competitions", json=body, headers=admin.auth
            )
            if response.status_code != 201:
                raise SystemExit(f"competition {n}: {response.status_code} {response.text}")
            created.append(str(response.json()["competition_id"]))
    return created
