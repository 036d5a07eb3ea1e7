"""The real platform on 127.0.0.1 for `make bench` and `make faults`, with private servers.

Everything here is started by the suite that uses it and stopped by it, error,
Ctrl-C or TERM included (every process is registered on a ``contextlib.ExitStack``):

- ``PostgresCluster``: a private PostgreSQL cluster in a temporary directory (a
  copy of one made with ``initdb`` once per process), run on a free port (Debian's
  binaries are found under ``/usr/lib/postgresql/*/bin``); as root, it runs as the
  ``postgres`` user, as PostgreSQL requires. The machine's own server (5432) is never touched, so a
  suite may stop and restart its clusters at will. The cluster goes with the
  directory at the end.
- ``RedisServer``: a private ``redis-server`` on a free port, no persistence
  (its keys die with it); it can be stopped and started again on the same port.
- ``Service``: one ``litcomp serve`` process (``litcomp.launcher.Child``) that can be
  killed, frozen (SIGSTOP), thawed and started again with the same settings.
- ``Stack``: the platform as ``litcomp up`` and the tests start it
  (``litcomp.launcher.Launcher``), a step at a time: discovery and the gateway on fixed
  free ports (so they can be restarted where clients expect them), and any number of
  users and competitions replicas, each on free ports it registers with discovery.

Every benchmark starts its processes with this module: the servers' (nginx, Redis,
PostgreSQL) with ``start``, ``stop`` and ``wait_until`` here, litcomp's with ``Stack``
(``litcomp.launcher``).
"""

import asyncio
import atexit
import contextlib
import functools
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from litcomp import launcher
from litcomp.launcher import Child, Launcher, free_port, get_json

HOST = "127.0.0.1"
HUGE_RATE = "1000000000"
# A cheap GET through the gateway to each service, no password hashed, no row written.
NUDGES = ("/competitions", "/users/.well-known/jwks.json")
POSTGRES_HINT = "sudo apt-get install -y postgresql   (initdb and postgres are needed)"
REDIS_HINT = "sudo apt-get install -y redis-server"


def missing_tools(*names: str) -> list[str]:
    """Which of ``names`` (postgres, redis-server, nginx, wrk) this machine lacks."""
    found = {
        "postgres": lambda: postgres_bin("initdb") is not None,
        "redis-server": lambda: shutil.which("redis-server") is not None,
        "nginx": lambda: bool(shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")),
        "wrk": lambda: shutil.which("wrk") is not None,
    }
    return [name for name in names if not found[name]()]


def install_hint(missing: list[str]) -> str:
    packages = {"postgres": "postgresql", "redis-server": "redis-server"}
    names = " ".join(
        packages.get(name, "nginx-light" if name == "nginx" else name) for name in missing
    )
    return f"missing: {', '.join(missing)}; install with:\n  sudo apt-get install -y {names}"


# --- processes ------------------------------------------------------------------------------


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start(
    stack: contextlib.ExitStack,
    workdir: Path,
    name: str,
    command: list[str],
    env: Mapping[str, str],
) -> Started:
    """Start ``command``; it is stopped (TERM, then KILL) when ``stack`` closes."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    started = Started(name, process, log)
    stack.callback(stop, process)
    return started


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(ready: Callable[[], bool], started: Started, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if started.process.poll() is not None:
            raise SystemExit(f"{started.name} exited; its log ends:\n{started.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(
                f"timed out waiting for {started.name}; its log ends:\n{started.tail()}"
            )
        time.sleep(0.1)


def litcomp_env(workdir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITCOMP_")}
    env.update(
        LITCOMP_VAR_DIR=str(workdir / "var"),
        LITCOMP_HOST=HOST,
        LITCOMP_LOG_LEVEL="WARNING",
        LITCOMP_GATEWAY_RATE_PER_SECOND=HUGE_RATE,
        LITCOMP_GATEWAY_RATE_BURST=HUGE_RATE,
        **settings,
    )
    return env


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server binary: Debian's newest under /usr/lib/postgresql, else on PATH."""
    debian = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[4]) if Path(path).parts[4].isdigit() else 0,
    )
    return debian[-1] if debian else shutil.which(name)


def _as_postgres_user() -> dict[str, Any]:
    """Popen arguments that drop root, which initdb and postgres refuse to run as."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@functools.cache
def _template(initdb: str) -> Path:
    """A cluster made with ``initdb`` once per process, removed when the process exits."""
    directory = Path(tempfile.mkdtemp(prefix="litcomp-template-pg-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    user = _as_postgres_user()
    if user:
        os.chown(directory, user["user"], user["group"])
    done = subprocess.run(
        [initdb, "-D", str(directory / "data"), "-U", "postgres", "-A", "trust"],
        capture_output=True,
        text=True,
        check=False,
        **user,
    )
    if done.returncode != 0:
        raise SystemExit(f"initdb failed:\n{done.stdout}{done.stderr}")
    return directory


@dataclass
class PostgresCluster:
    """A private PostgreSQL cluster: ``start``, ``stop`` and start again on the same port."""

    name: str
    stack: contextlib.ExitStack
    directory: Path = field(init=False)
    port: int = field(init=False)
    server: Started | None = None

    def __post_init__(self) -> None:
        initdb = postgres_bin("initdb")
        if initdb is None:
            raise SystemExit(f"PostgreSQL is missing; install it with:\n  {POSTGRES_HINT}")
        # Not under the caller's private temporary directory: the postgres user must reach it.
        self.directory = Path(tempfile.mkdtemp(prefix=f"litcomp-{self.name}-pg-"))
        self.stack.callback(shutil.rmtree, self.directory, ignore_errors=True)
        self.port = free_port()
        user = _as_postgres_user()
        if user:
            os.chown(self.directory, user["user"], user["group"])
        # A copy of one initdb'd cluster: ~0.1 s where initdb takes ~1 s (more when busy).
        copy = ["cp", "-a", str(_template(initdb) / "data"), str(self.directory / "data")]
        subprocess.run(copy, check=True, **user)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        postgres = postgres_bin("postgres")
        assert postgres is not None
        log = self.directory / "postgres.log"
        command = [
            postgres,
            "-D",
            str(self.directory / "data"),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            f"unix_socket_directories={self.directory}",
            "-c",
            "max_connections=300",
            # The floor part counts each request's statements (BEGIN and COMMIT too).
            "-c",
            "shared_preload_libraries=pg_stat_statements",
            "-c",
            "pg_stat_statements.track_utility=on",
        ]
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, **_as_postgres_user()
            )
        self.server = Started(f"{self.name}-postgres", process, log)
        self.stack.callback(self._stop_quietly, process)
        wait_until(self.answers, self.server)

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), 0.2):
                pass
        except OSError:
            return False
        return asyncio.run(self._select_one())

    async def _select_one(self) -> bool:
        try:
            connection = await asyncpg.connect(self.admin_url, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    def stop(self, fast: bool = True) -> None:
        """Fast shutdown (SIGINT: sessions are ended, the data is safe) or immediate (SIGQUIT)."""
        if self.server is not None:
            self._stop_quietly(self.server.process, signal.SIGINT if fast else signal.SIGQUIT)
            self.server = None

    @staticmethod
    def _stop_quietly(process: subprocess.Popen[bytes], signum: int = signal.SIGINT) -> None:
        if process.poll() is None:
            process.send_signal(signum)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def create_database(self, name: str) -> str:
        asyncio.run(self.execute(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    async def execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


# --- Redis -----------------------------------------------------------------------------------


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), 0.2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A private redis-server without persistence; ``stop`` and ``start`` keep its port."""

    stack: contextlib.ExitStack
    workdir: Path
    port: int = field(default_factory=free_port)
    server: Started | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise SystemExit(f"redis-server is missing; install it with:\n  {REDIS_HINT}")
        command = ["redis-server", "--port", str(self.port), "--bind", HOST]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.server = start(self.stack, self.workdir, "redis", command, os.environ)
        wait_until(lambda: redis_answers(self.port), self.server)

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server.process)
            self.server = None


# --- litcomp ---------------------------------------------------------------------------------


class Service(Child):
    """One ``litcomp serve SERVICE`` process (``litcomp.launcher.Child``): start, kill,
    freeze, thaw (``signal``), start again with the same settings."""

    def __init__(self, service: str, name: str, env: Mapping[str, str], log: Path) -> None:
        super().__init__(service, name, env, log=log)
        self.registration: dict[str, Any] = {}  # what discovery lists

    @property
    def instance_id(self) -> str:
        return str(self.registration.get("instance_id", ""))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.registration['http_port']}"

    @property
    def ws_port(self) -> int:
        return int(self.registration.get("ws_port") or 0)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait()


class Stack(Launcher):
    """The platform's processes (``litcomp.launcher.Launcher``) and the settings they
    share, started a step at a time; all stopped, in reverse order, when ``stack``
    closes. Each step creates its processes afresh with the settings of the moment, so
    discovery and the gateway can be started again (on their ports) with other
    settings. Discovery and the gateway take free ports unless ``settings`` name them
    (a stack of a gateway alone may use another stack's discovery)."""

    def __init__(self, stack: contextlib.ExitStack, workdir: Path, settings: dict[str, str]):
        self.stack = stack
        self.workdir = workdir
        self.settings = settings
        self.discovery_port = free_port()
        self.gateway_port = free_port()
        settings.setdefault("LITCOMP_DISCOVERY_URL", f"http://{HOST}:{self.discovery_port}")
        settings.setdefault("LITCOMP_DISCOVERY_PORT", str(self.discovery_port))
        settings.setdefault("LITCOMP_GATEWAY_PORT", str(self.gateway_port))
        # Instances registered by other means (a proxy in front of a replica), by service.
        self.extra_instances: dict[str, set[str]] = {}
        super().__init__(
            self.environment(),
            {},
            discovery_url=settings["LITCOMP_DISCOVERY_URL"],
            url=f"http://{HOST}:{self.gateway_port}",
            logs=workdir,
        )
        stack.callback(self.stop)

    @property
    def var_dir(self) -> Path:
        return Path(self.environment()["LITCOMP_VAR_DIR"])

    def environment(self, **extra: str) -> dict[str, str]:
        # Settings given here win over litcomp_env's (log level, rate limits).
        return {**litcomp_env(self.workdir), **self.settings, **extra}

    def child(self, service: str, name: str, **env: str) -> Service:
        """With the settings of the moment; logging to ``<workdir>/<name>.log`` (a
        restarted discovery or gateway appends to its log)."""
        return Service(service, name, self.environment(**env), self.workdir / f"{name}.log")

    def start_discovery(self) -> Child:
        self.discovery = self.child("discovery", "discovery")
        self.discovery.start()
        launcher.wait_until(self.discovery_answers, "discovery", 60, watching=[self.discovery])
        return self.discovery

    def listed(self, service: str) -> list[dict[str, Any]]:
        found = get_json(f"{self.discovery_url}/discovery/instances?service={service}")
        return list(found or [])

    def add_replica(self, service: str, **extra: str) -> Service:
        """Start one more instance; returns once discovery lists it."""
        [replica] = self.add_replicas({service: 1}, **extra)
        return replica

    def add_replicas(self, counts: Mapping[str, int], **extra: str) -> list[Service]:
        """Start ``counts[service]`` more instances of each service, all at once (starting
        is mostly importing, CPU that overlaps on several cores); returns once discovery
        lists every one."""
        started = [self.add(name, **extra) for name, n in counts.items() for _ in range(n)]
        for replica in started:
            replica.start()
        for replica in started:
            what = f"{replica.name} to register"
            launcher.wait_until(
                functools.partial(self.registered, replica), what, 60, watching=[replica]
            )
        return [replica for replica in started if isinstance(replica, Service)]

    def registered(self, replica: Child) -> bool:
        """Whether discovery lists ``replica`` (its registration kept)."""
        found = self.instance(replica)
        if isinstance(replica, Service):
            replica.registration = found or {}
        return found is not None

    def running(self, service: str) -> list[Service]:
        return [r for r in self.replicas.get(service, []) if r.running and isinstance(r, Service)]

    def start_gateway(self, **extra: str) -> Child:
        self.gateway = self.child("gateway", "gateway", **extra)
        self.gateway.start()
        launcher.wait_until(self.routes_to_running, "the gateway", 60, watching=[self.gateway])
        return self.gateway

    def routes_to_running(self) -> bool:
        """The gateway lists exactly the running replicas of each service, and the
        instances registered by other means."""
        status = self.gateway_status()
        services = set(self.replicas) | set(self.extra_instances)
        for service in services:
            listed = {i["instance_id"] for i in status["services"].get(service, [])}
            expected = {r.instance_id for r in self.running(service)}
            if listed != expected | self.extra_instances.get(service, set()):
                return False
        return bool(services) and bool(status["services"])

    def wait_settled(self, timeout: float = 60, *, nudge: bool = False) -> None:
        """Until the gateway routes to every running replica, each breaker closed
        (a replica that was killed may still be listed, its breaker open, until it is
        forgotten).

        An open breaker closes only on a request that probes the instance: with
        ``nudge``, a cheap GET to each service goes through the gateway at each look
        (the users breaker too: a login flood on a busy machine can open it).
        """

        def settled() -> bool:
            if nudge:
                for path in NUDGES:
                    get_json(f"{self.url}{path}")
            status = self.gateway_status()
            closed = {
                i["instance_id"]
                for each in status["services"].values()
                for i in each
                if i["breaker"] == "closed"
            }
            running = {r.instance_id for each in self.replicas for r in self.running(each)}
            return bool(running) and running <= closed

        launcher.wait_until(settled, "the gateway to settle", timeout, watching=[self.gateway])


def wait_for(ready: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll ``ready`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
