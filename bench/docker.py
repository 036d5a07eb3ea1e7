"""Docker for the Compose stage (tests/deploy) and `make faults-compose`: the engine, the
images, a Compose project, and ``deployed``, which does all three in turn.

- ``docker_engine``: the engine running, or dockerd started here (as root) with
  ``--iptables=false --ip-forward=false``, which leave the host's firewall and
  forwarding as they were. The stack needs neither: containers talk on their own
  bridge, the host reaches their addresses on it, and a published port is relayed by
  docker-proxy. One started here is stopped on the way out.
- ``build_images``: the base images made from Debian's packages (no registry is
  reachable; kept by name between runs), the wheelhouse, the app image.
- ``Compose``: ``docker compose`` on compose.yaml (and any override) with the
  environment that points it at those images, a fresh signing key and password.

Runs on one machine share the engine, the image names and the lock: ``one_at_a_time``.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.stack import stop

ROOT = Path(__file__).resolve().parents[1]
LOCK_FILE = Path("/tmp/litcomp-deploy-tests.lock")
BASE_IMAGES = {
    "LITCOMP_BASE_IMAGE": "litcomp-base/python:bookworm",
    "LITCOMP_BUILD_IMAGE": "litcomp-base/python-build:bookworm",
    "LITCOMP_POSTGRES_IMAGE": "litcomp-base/postgres:bookworm",
    "LITCOMP_REDIS_IMAGE": "litcomp-base/redis:bookworm",
    "LITCOMP_PROMETHEUS_IMAGE": "litcomp-base/prometheus:bookworm",
}

Step = Callable[[str], AbstractContextManager[None]]


def answers() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def unavailable() -> str | None:
    """Why this run can have no engine (none running, and no root to start one), or None."""
    if shutil.which("docker") is not None and answers():
        return None
    if os.geteuid() != 0:
        return "no Docker engine is running, and starting dockerd needs root"
    return None


def run(
    command: list[str], env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """Runs on one machine share its engine, image names and port: take turns."""
    with LOCK_FILE.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def docker_engine(log: Path) -> Iterator[None]:
    """Inside, ``docker`` reaches an engine; one started here is stopped on the way out."""
    if shutil.which("docker") is not None and answers():
        yield
        return
    missing = [tool for tool in ("dockerd", "docker") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not found: install Debian's docker.io (sudo make prerequisites)"
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        dockerd = subprocess.Popen(
            ["dockerd", "--iptables=false", "--ip-forward=false"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # If another dockerd was starting at the same moment, ours exits and that one
        # answers: use it, and leave stopping it to whoever started it.
        deadline = time.monotonic() + 60
        while not answers():
            if time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"dockerd did not start (log: {log}):\n{tail}")
            time.sleep(0.5)
        yield
    finally:
        stop(dockerd, timeout=60)


def docker_env() -> dict[str, str]:
    """This process's environment without litcomp's settings, for the classic builder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITCOMP_", "OTEL_"))}
    env["DOCKER_BUILDKIT"] = "0"  # Debian's engine has no buildx plugin
    return env


def build_images(env: Mapping[str, str], app_image: str, step: Step) -> None:
    """The base images (kept if they exist), the wheelhouse, then ``app_image``."""
    with step("base images"):
        run(["deploy/docker/debian-images.sh"], env, timeout=600)
    with step("wheelhouse"):
        run(["deploy/docker/wheelhouse.sh"], {**env, "PYTHON": sys.executable})
    with step("app image"):
        command = ["docker", "build", "-q", "--force-rm"]
        for arg in ("BASE_IMAGE", "BUILD_IMAGE"):
            command += ["--build-arg", f"{arg}={BASE_IMAGES[f'LITCOMP_{arg}']}"]
        run([*command, "-t", app_image, "."], env)


def signing_key(path: Path) -> Path:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o644)  # a Compose secret is a bind mount: the app's user must read it
    return path


@dataclass
class Compose:
    """One Compose project of compose.yaml (plus ``overrides``); ``env`` says which images,
    key and password it runs with."""

    project: str
    env: dict[str, str]
    overrides: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()  # only in commands called with ``everything``

    def __call__(
        self, *args: str, timeout: float = 300, everything: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """``everything``: the services of ``profiles`` too."""
        files = [arg for name in ("compose.yaml", *self.overrides) for arg in ("-f", name)]
        profiles = [arg for name in self.profiles for arg in ("--profile", name)]
        command = ["docker", "compose", "-p", self.project, *files]
        return run([*command, *(profiles if everything else []), *args], self.env, timeout)

    def up(self) -> None:
        # What a failed run may have left.
        self("down", "-v", "--remove-orphans", everything=True)
        self("config", "-q")
        self("up", "--wait", "--wait-timeout", "240", "--no-build", "--pull", "never", timeout=300)

    def down(self, logs: Path) -> None:
        """The containers' logs to ``logs``, then everything down, volumes too."""
        try:
            done = self("logs", "--no-color", "--timestamps", timeout=120, everything=True)
            text = done.stdout + done.stderr
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            text = str(exc)
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_text(text)
        self("down", "-v", "--remove-orphans", timeout=180, everything=True)

    def containers(self, service: str) -> list[str]:
        return self("ps", "-q", service).stdout.split()

    def address(self, container: str) -> str:
        """The container's address on the project's network (the host reaches it)."""
        network = f"{self.project}_default"
        template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
        return run(["docker", "inspect", "-f", template, container], self.env).stdout.strip()

    def docker(self, *args: str) -> None:
        run(["docker", *args], self.env, timeout=60)


@contextmanager
def deployed(
    project: str,
    app_image: str,
    *,
    key: Path,
    logs: Path,
    gateway_publish: str,
    step: Step,
    overrides: tuple[str, ...] = (),
    profiles: tuple[str, ...] = (),
    **more: str,
) -> Iterator[Compose]:
    """compose.yaml (and ``overrides``) up on images built here, taking turns with other
    runs, on an engine (started here if none runs, its log in ``logs``); a fresh signing
    key at ``key``; ``more``: environment for compose.yaml. On the way out the containers'
    logs go to ``logs``/containers.log, everything goes down, volumes too, and the app
    image is removed."""
    with one_at_a_time(), docker_engine(logs / "dockerd.log"):
        build_images(docker_env(), app_image, step)
        env = docker_env()
        env.update(
            BASE_IMAGES,
            LITCOMP_IMAGE=app_image,
            LITCOMP_JWT_KEY_FILE=str(signing_key(key)),
            LITCOMP_GATEWAY_PUBLISH=gateway_publish,
            LITCOMP_DB_PASSWORD=uuid.uuid4().hex,
            **more,
        )
        compose = Compose(project, env, overrides, profiles)
        try:
            with step("compose up --wait"):
                compose.up()
            yield compose
        finally:
            with step("compose down -v"):
                compose.down(logs / "containers.log")
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                run(["docker", "rmi", app_image], compose.env, timeout=120)
