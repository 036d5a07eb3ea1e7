"""`make faults-compose`: `make faults`' scenarios on the Compose deployment, Docker's faults.

Usage::

    .venv/bin/python -m bench.faults_compose                   # every scenario, ~5 minutes
    .venv/bin/python -m bench.faults_compose --scenarios pause,partition --hold 5

Method
------
compose.yaml as deployed (a PostgreSQL per service, Redis, discovery, 2 users and 3
competitions replicas, the gateway), with ``bench/compose.faults.yaml`` raising the
gateway's general rate limit (all the load comes from one address, as in ``make
faults``). The images are built as the Compose stage builds them (``bench/docker.py``:
Debian base images, the wheelhouse, the app image), the engine is the one running or
dockerd started here (as root); ``compose down -v`` and the engine stopped at the end.

Each container has an address of its own, so the faults are real ones:

- kill: ``docker kill`` (SIGKILL) one competitions container, ``docker start`` after --hold;
- pause: ``docker pause`` one (the cgroup freezer: the kernel still accepts connections
  for it, nothing answers), ``docker unpause`` after --hold;
- partition: ``docker network disconnect`` one from the project's network (packets to it
  go nowhere, its name stops resolving), ``docker network connect`` after --hold;
- redis-pause: ``docker pause`` Redis (discovery state, rate limits, the cache and the
  notification wake-ups hang), ``docker unpause`` after --hold.

The load, the timeline, the checks and the figures are ``make faults``' (bench/faults.py):
people sign up straight at a users container's address (not past the login limit), and
writes and notifications are checked in the competitions database at its container's
address. Results go to ``bench/results/faults-compose-<UTC time>.json`` and ``.txt``.
"""

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import faults, people
from bench.docker import Compose, deployed, unavailable
from bench.measure import log
from litcomp.launcher import free_port, get_json

PROJECT = "litcomp-faults"
APP_IMAGE = "litcomp:faults"
OVERRIDE = "bench/compose.faults.yaml"
SCENARIOS = {
    "kill": "docker kill one of 3 competitions containers (docker start after --hold)",
    "pause": "docker pause one of 3 competitions containers, unpause after --hold",
    "partition": "docker network disconnect one of 3 competitions containers, connect after --hold",
    "redis-pause": "docker pause Redis, unpause after --hold",
}


@dataclass
class ComposePlatform:
    """A running Compose project as the scenarios see it (faults.Deployment)."""

    compose: Compose
    gateway: str
    users_url: str
    competitions_url: str
    scenarios: dict[str, str] = field(default_factory=lambda: SCENARIOS)

    @classmethod
    def of(cls, compose: Compose, gateway: str) -> "ComposePlatform":
        users = compose.address(compose.containers("users")[0])
        database = compose.address(compose.containers("competitions-db")[0])
        password = compose.env["LITCOMP_DB_PASSWORD"]
        return cls(
            compose,
            gateway,
            f"http://{users}:8080",
            f"postgresql://litcomp:{password}@{database}:5432/litcomp_competitions",
        )

    def create_admin(self, name: str) -> str:
        email = f"{name}@faults.example"
        command = ["exec", "-T", "users", "litcomp", "create-admin", "--email", email]
        self.compose(*command, "--username", name, "--password", people.PASSWORD)
        return email

    async def inject(
        self,
        name: str,
        args: argparse.Namespace,
        outcome: faults.Outcome,
        http: httpx.AsyncClient,
    ) -> str | None:
        service = "redis" if name == "redis-pause" else "competitions"
        container, instance = await asyncio.to_thread(self.victim, service)
        fault, repair = self.commands(name, container)
        log("%s: docker %s", name, " ".join(fault))
        began = time.monotonic()
        await asyncio.to_thread(self.compose.docker, *fault)
        outcome.notes.append(f"docker {fault[0]} took {time.monotonic() - began:.2f} s")
        await asyncio.sleep(args.hold)
        await asyncio.to_thread(self.compose.docker, *repair)
        return instance

    def commands(self, name: str, container: str) -> tuple[list[str], list[str]]:
        """The docker commands that break ``container`` and repair it."""
        network = f"{self.compose.project}_default"
        return {
            "kill": (["kill", container], ["start", container]),
            "pause": (["pause", container], ["unpause", container]),
            "redis-pause": (["pause", container], ["unpause", container]),
            # Connected again under its service's name too (Prometheus finds replicas by it).
            "partition": (
                ["network", "disconnect", network, container],
                ["network", "connect", "--alias", "competitions", network, container],
            ),
        }[name]

    def victim(self, service: str) -> tuple[str, str | None]:
        """The last container of ``service``, and the id the gateway knows its instance by
        (found by the host it registered: the container's address)."""
        container = self.compose.containers(service)[-1]
        status = get_json(f"{self.gateway}/gateway/status") or {"services": {}}
        hosts = registered_hosts(self.compose, container)
        instance = next(
            (
                i["instance_id"]
                for i in status["services"].get(service, [])
                if registered_host(i) in hosts
            ),
            None,
        )
        return container, instance

    def settle(self, timeout: float = 90) -> None:
        """Until the gateway routes to every users and competitions container, each breaker
        closed; a GET /competitions at each look gives an open breaker its probe."""
        deadline = time.monotonic() + timeout
        while True:
            get_json(f"{self.gateway}/competitions")
            status = get_json(f"{self.gateway}/gateway/status") or {"services": {}}
            closed = {
                registered_host(i)
                for each in status["services"].values()
                for i in each
                if i["breaker"] == "closed"
            }
            containers = self.compose.containers("users") + self.compose.containers("competitions")
            if all(registered_hosts(self.compose, c) & closed for c in containers):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not settled after {timeout:.0f} s: {status}")
            time.sleep(0.5)


def registered_hosts(compose: Compose, container: str) -> set[str]:
    """What an instance in ``container`` may have registered: its address (kit/settings.py
    public_host), or its hostname, the short id (before b3dcf0f)."""
    return {compose.address(container), container[:12]}


def registered_host(instance: dict[str, str]) -> str:
    """The host of an instance's address in /gateway/status (``http://host:port``)."""
    return instance["address"].split("//")[1].rsplit(":", 1)[0]


@contextlib.contextmanager
def logged(step: str) -> Iterator[None]:
    began = time.monotonic()
    log("%s", step)
    yield
    log("%s: %.0f s", step, time.monotonic() - began)


@contextlib.contextmanager
def compose_running(args: argparse.Namespace, workdir: Path) -> Iterator[ComposePlatform]:
    if reason := unavailable():
        raise SystemExit(reason)
    port = free_port()
    with deployed(
        PROJECT,
        APP_IMAGE,
        key=workdir / "jwt-signing-key.pem",
        logs=workdir,
        gateway_publish=f"127.0.0.1:{port}",
        step=logged,
        overrides=(OVERRIDE,),
        LITCOMP_LOG_LEVEL=args.log_level,
    ) as compose:
        yield ComposePlatform.of(compose, f"http://127.0.0.1:{port}")


def main(argv: list[str] | None = None, *, handle_signals: bool = True) -> list[faults.Outcome]:
    return faults.main(
        argv,
        handle_signals=handle_signals,
        start=compose_running,
        scenarios=SCENARIOS,
        name="faults-compose",
        doc=__doc__ or "",
    )


if __name__ == "__main__":
    main()
