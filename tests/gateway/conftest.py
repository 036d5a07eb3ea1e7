import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import Platform, free_port, get_json, wait_until


@dataclass
class Edge:
    """discovery and the gateway as processes, with an echo server registered as
    the instance of every service."""

    platform: Platform
    echo_port: int

    @property
    def url(self) -> str:
        return self.platform.url

    def instances(self) -> dict[str, list[dict[str, object]]]:
        status = get_json(f"{self.url}/gateway/status")
        return dict(status["services"])


def register(discovery_url: str, service: str, instance_id: str, port: int) -> None:
    registration = {
        "service": service,
        "instance_id": instance_id,
        "host": "127.0.0.1",
        "http_port": port,
    }
    response = httpx.post(f"{discovery_url}/discovery/instances", json=registration)
    assert response.status_code == 201, response.text


@contextmanager
def running_edge(
    var_dir: Path, settings: Mapping[str, str], *, jwks: Path | None = None
) -> Iterator[Edge]:
    """discovery, the gateway with ``settings`` and the echo server (serving ``jwks``
    as the users service's public keys, if given) as the one instance of each service."""
    platform = Platform.create(
        var_dir,
        {
            "LITCOMP_DISCOVERY_TTL_SECONDS": "300",
            "LITCOMP_GATEWAY_TIMEOUT_SECONDS": "1",
            "LITCOMP_GATEWAY_BREAKER_COOLDOWN_SECONDS": "60",
            "LITCOMP_GATEWAY_OUTLIER_INTERVAL_SECONDS": "0.5",
            **settings,
        },
        replicas={},
    )
    echo_port = free_port()
    echo = start_echo(echo_port, *([str(jwks)] if jwks else []))
    try:
        platform.discovery.start()
        wait_until(lambda: get_json(f"{platform.discovery_url}/health"), "discovery")
        for service in ("users", "competitions"):
            register(platform.discovery_url, service, f"echo-{service}", echo_port)
        platform.gateway.start()
        wait_until(lambda: get_json(f"{platform.url}/health"), "the gateway")
        edge = Edge(platform, echo_port)
        wait_until(lambda: all(edge.instances().values()), "the gateway to list the echo server")
        yield edge
    finally:
        platform.gateway.stop()
        platform.discovery.stop()
        echo.terminate()
        echo.wait()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with running_edge(tmp_path_factory.mktemp("edge"), {}) as edge:
        yield edge


def start_echo(port: int, *args: str, status: int = 0, error: str = "") -> subprocess.Popen[bytes]:
    """tests/echo_upstream.py on ``port`` with ``args``, answering every request with
    ``status`` if given (a broken instance; as a litcomp error with code ``error`` if
    given), once it answers; the caller terminates it."""
    env = {**os.environ, "ECHO_STATUS": str(status), "ECHO_ERROR": error} if status else None
    echo = subprocess.Popen(
        [sys.executable, "-m", "tests.echo_upstream", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/ping"), "the echo upstream")
    except BaseException:
        echo.terminate()
        echo.wait()
        raise
    return echo


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code > 0
    except httpx.HTTPError:
        return False
