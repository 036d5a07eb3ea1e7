"""Starting litcomp's processes and keeping them running: what ``litcomp up`` runs, and
what the tests and the benchmarks start the platform with. One place to change when a
setting or a start step is added.

- ``Launcher`` runs discovery, any number of users and competitions replicas (each on
  free ports it registers) and the gateway, with the given settings: ``start`` starts
  them in that order and returns once discovery lists every replica and the gateway
  answers (on failure it stops what it started), ``stop`` stops them in reverse order,
  ``supervise`` keeps them running until asked to stop.
- ``Child`` is one ``litcomp serve SERVICE`` process, its output in a log file or this
  process's own. Started again, it is told how often it was restarted
  (``LITCOMP_INSTANCE_RESTARTS``), which it registers with discovery and the gateway's
  status page shows.
- ``Backoff`` says how long to wait before starting again a process that exited:
  0.5 s after a first exit, doubling with each exit that follows, up to 30 s; a
  process that had run for a minute when it exited starts again after 0.5 s. Pure,
  clock injected.
- ``free_port``, ``get_json`` and ``wait_until``: the helpers every starter needs.
"""

import contextlib
import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import httpx

Clock = Callable[[], float]

HOST = "127.0.0.1"
FIRST_PORT = 10000  # free_port picks from here to the start of the ephemeral range


def free_port(host: str = HOST) -> int:
    """A port nothing is bound to, for a server started later (or restarted on it).

    Not one the kernel hands out itself: any outgoing connection may take a port of the
    ephemeral range as its local end meanwhile, and the server then fails with "Address
    already in use" (seen when the machine was busy and connections many).
    """
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    first = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    while True:
        port = random.randrange(FIRST_PORT, first) if first > FIRST_PORT + 1000 else 0
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])


def get_json(url: str, body: Mapping[str, Any] | None = None, timeout: float = 2) -> Any:
    """GET (or POST ``body`` to) ``url``; its JSON, or None when it cannot be had (no
    answer, an error status, not JSON)."""
    method = "GET" if body is None else "POST"
    try:
        response = httpx.request(method, url, json=body, timeout=timeout, trust_env=False)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


class NotReady(RuntimeError):
    """What was waited for did not come: a timeout, or a process it needs exited."""


class Stopping(Exception):
    """Asked to stop while waiting."""


def never() -> bool:
    return False


def wait_until(
    ready: Callable[[], object],
    what: str,
    timeout: float = 30,
    *,
    watching: Sequence["Child"] = (),
    stopping: Callable[[], bool] = never,
    step: float = 0.05,
) -> None:
    """Poll ``ready`` until it is true; ``NotReady`` after ``timeout`` seconds, or as soon
    as one of the started children in ``watching`` has exited (with its log's end);
    ``Stopping`` as soon as ``stopping()`` is true."""
    deadline = time.monotonic() + timeout
    while not ready():
        if stopping():
            raise Stopping
        exited = next((c for c in watching if c.process is not None and not c.running), None)
        if exited is not None:
            raise NotReady(f"waiting for {what}: {exited.name} exited{exited.tail()}")
        if time.monotonic() > deadline:
            raise NotReady(f"timed out waiting for {what}")
        time.sleep(step)


class Backoff:
    """The delays before restarts of one process: ``first`` seconds, doubling with each
    exit up to ``cap``, back to ``first`` when the process had run ``reset_after``
    seconds (a crash a day is not a crash loop)."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        *,
        first: float = 0.5,
        cap: float = 30.0,
        reset_after: float = 60.0,
    ) -> None:
        self._clock = clock
        self.first = first
        self.cap = cap
        self.reset_after = reset_after
        self._delay = 0.0  # the last delay given; 0 before the first exit
        self._started_at = clock()

    def started(self) -> None:
        """The process has (re)started now."""
        self._started_at = self._clock()

    def exited(self) -> float:
        """The process has exited now: the seconds to wait before starting it again."""
        ran_for = self._clock() - self._started_at
        if self._delay == 0 or ran_for >= self.reset_after:
            self._delay = self.first
        else:
            self._delay = min(self.cap, self._delay * 2)
        return self._delay


def exit_reason(returncode: int) -> str:
    """How a process ended, in words: ``exit code 1`` or ``signal SIGKILL``."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class Child:
    """One ``litcomp serve SERVICE`` process; its output goes to ``log`` (a file it
    appends to) or, without one, to this process's own stdout and stderr."""

    def __init__(
        self,
        service: str,
        name: str,
        env: Mapping[str, str],
        *,
        log: Path | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.service = service
        self.name = name
        self.env = dict(env)
        self.log = log
        self.restarts = 0
        self.backoff = Backoff(clock)
        self.restart_at: float | None = None  # set while it waits out its backoff
        self.process: subprocess.Popen[bytes] | None = None
        self._clock = clock

    def start(self) -> None:
        command = [sys.executable, "-m", "litcomp.cli", "serve", self.service]
        env = {**self.env, "LITCOMP_INSTANCE_RESTARTS": str(self.restarts)}
        if self.log is None:
            self.process = subprocess.Popen(command, env=env)
        else:
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    command, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        self.backoff.started()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def logs(self) -> str:
        """What it has written so far ("" when it writes to this process's output)."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 20) -> str:
        """The end of its log, as text to append to a message ("" without a log)."""
        end = self.logs().splitlines()[-lines:]
        return "; its log ends:\n" + "\n".join(end) if end else ""

    def wait_for_log(self, text: str, timeout: float = 5) -> list[dict[str, Any]]:
        """Its JSON log records that mention ``text``, once there is one (none after
        ``timeout`` seconds)."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            lines = self.logs().splitlines()
            found[:] = [json.loads(x) for x in lines if x.startswith("{") and text in x]
            return bool(found)

        with contextlib.suppress(NotReady):
            wait_until(seen, f"{self.name} to log {text!r}", timeout)
        return found

    def tend(self) -> None:
        """Restart the process if it has exited and waited out its backoff; when it has
        just exited, log how and schedule the restart."""
        if self.process is None or self.process.poll() is None:
            return
        now = self._clock()
        if self.restart_at is None:
            delay = self.backoff.exited()
            self.restart_at = now + delay
            print(
                f"{self.name} (pid {self.process.pid}) ended with "
                f"{exit_reason(self.process.returncode)}; restarting it in {delay:g} s "
                f"(restart {self.restarts + 1})",
                file=sys.stderr,
                flush=True,
            )
        elif now >= self.restart_at:
            self.restarts += 1
            self.restart_at = None
            self.start()

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (after SIGCONT: a frozen process would not act on it), then SIGKILL
        after ``timeout`` seconds; the exit code (0 if never started)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class Launcher:
    """discovery, the replicas and the gateway of one platform, with the settings in
    ``env`` (the whole environment of every child); instances get free ports.

    ``discovery_url`` and ``url`` (the gateway's) must be where ``env`` puts them;
    ``on_free_ports`` makes a launcher whose discovery and gateway take free ports.
    Logs go to ``<logs>/<name>.log`` (names: ``discovery``, ``users-1``...,
    ``gateway``), or to this process's output without ``logs``.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        replicas: Mapping[str, int],
        *,
        discovery_url: str,
        url: str,
        logs: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.discovery_url = discovery_url
        self.url = url
        self.logs = logs
        self.discovery = self.child("discovery", "discovery")
        self.replicas: dict[str, list[Child]] = {}
        for service, count in replicas.items():
            for _ in range(count):
                self.add(service)
        self.gateway = self.child("gateway", "gateway")

    @classmethod
    def on_free_ports(
        cls, env: Mapping[str, str], replicas: Mapping[str, int], *, logs: Path | None = None
    ) -> Self:
        discovery_port, gateway_port = free_port(), free_port()
        discovery_url = f"http://{HOST}:{discovery_port}"
        ports = {
            "LITCOMP_DISCOVERY_PORT": str(discovery_port),
            "LITCOMP_DISCOVERY_URL": discovery_url,
            "LITCOMP_GATEWAY_PORT": str(gateway_port),
            # The links in mails lead to this gateway, unless the platform has an address.
            "LITCOMP_PUBLIC_URL": env.get("LITCOMP_PUBLIC_URL", f"http://{HOST}:{gateway_port}"),
        }
        return cls(
            {**env, **ports},
            replicas,
            discovery_url=discovery_url,
            url=f"http://{HOST}:{gateway_port}",
            logs=logs,
        )

    def child(self, service: str, name: str, **env: str) -> Child:
        """A child of this platform (not started), with its settings and ``env``."""
        log = None if self.logs is None else self.logs / f"{name}.log"
        return Child(service, name, {**self.env, **env}, log=log)

    def add(self, service: str, **env: str) -> Child:
        """One more replica of ``service`` (not started), named ``<service>-<n>``."""
        replicas = self.replicas.setdefault(service, [])
        # Several replicas cannot share a port: each takes a free one and registers it.
        any_port = {
            f"LITCOMP_{service.upper()}_{kind}_PORT": "0" for kind in ("HTTP", "GRPC", "WS")
        }
        replica = self.child(service, f"{service}-{len(replicas) + 1}", **any_port, **env)
        replicas.append(replica)
        return replica

    @property
    def children(self) -> list[Child]:
        """In order of starting."""
        instances = [each for replicas in self.replicas.values() for each in replicas]
        return [self.discovery, *instances, self.gateway]

    def start(
        self,
        timeout: float = 60,
        *,
        on_step: Callable[[str], None] = lambda _: None,
        stopping: Callable[[], bool] = never,
    ) -> None:
        """Start everything, telling ``on_step`` each step; return once it is ``ready``.
        If any part fails to come up (``NotReady``), or ``stopping()`` comes true
        meanwhile (``Stopping``), stop what did start (no orphans) and raise."""
        try:
            on_step("starting discovery")
            self.discovery.start()
            wait_until(
                self.discovery_answers,
                "discovery",
                timeout,
                watching=[self.discovery],
                stopping=stopping,
            )
            for service, replicas in self.replicas.items():
                on_step(f"starting {len(replicas)} {service} instance(s)")
                for each in replicas:
                    each.start()
            on_step("starting the gateway")
            self.gateway.start()
            wait_until(
                self.ready,
                "every replica to register and the gateway to answer",
                timeout,
                watching=self.children,
                stopping=stopping,
            )
        except BaseException:
            self.stop()
            raise

    def discovery_answers(self) -> bool:
        return get_json(f"{self.discovery_url}/health") is not None

    def ready(self) -> bool:
        """Whether discovery lists every running replica and the gateway routes to each
        service that has one (so the first request after "litcomp is up" finds it). The
        gateway learns of instances a moment after discovery does; where it keeps its
        ``/gateway/status`` from us (operators only), its ``/health`` answering will do."""
        listed = get_json(f"{self.discovery_url}/discovery/instances")
        if listed is None:
            return False
        ids = [str(i["instance_id"]) for i in listed]
        running = [c for each in self.replicas.values() for c in each if c.running]
        if not all(any(f"-{c.pid}-" in i for i in ids) for c in running):
            return False
        status = get_json(f"{self.url}/gateway/status")
        if status is None:
            return get_json(f"{self.url}/health") is not None
        return all(
            status["services"].get(service)
            for service, children in self.replicas.items()
            if any(c.running for c in children)
        )

    def gateway_status(self) -> dict[str, Any]:
        """``/gateway/status``, or no services while the gateway does not answer."""
        return dict(get_json(f"{self.url}/gateway/status") or {"services": {}})

    def instance(self, child: Child) -> dict[str, Any] | None:
        """What discovery lists for this child (found by the pid in its instance id)."""
        listed = get_json(f"{self.discovery_url}/discovery/instances?service={child.service}")
        return next((i for i in listed or [] if f"-{child.pid}-" in i["instance_id"]), None)

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``litcomp ARGS`` with this platform's settings (e.g. ``migrate``)."""
        command = [sys.executable, "-m", "litcomp.cli", *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)

    def create_admin(self, email: str, username: str, password: str) -> str:
        """``litcomp create-admin``; what it printed. ``RuntimeError`` if it failed."""
        made = self.run_cli(
            "create-admin", "--email", email, "--username", username, "--password", password
        )
        if made.returncode != 0:
            raise RuntimeError(f"litcomp create-admin failed: {made.stderr}")
        return made.stdout

    def supervise(self, stopping: Callable[[], bool], interval: float = 0.1) -> None:
        """Keep every child running (``Child.tend``) until ``stopping()`` says otherwise."""
        while not stopping():
            for child in self.children:
                child.tend()
            time.sleep(interval)

    def stop(self) -> None:
        """Stop the children in reverse order of starting (the gateway before the
        instances it routes to, discovery last)."""
        for child in reversed(self.children):
            child.stop()
