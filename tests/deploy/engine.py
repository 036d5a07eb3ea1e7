"""A Docker engine for the deployment tests: the one running, or dockerd started here.

dockerd is started with ``--iptables=false --ip-forward=false``: it leaves the host's
firewall and forwarding as they were. The stack needs neither: containers talk on
their own bridge, and the published port is relayed by docker-proxy.
"""

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

LOCK_FILE = Path("/tmp/litcomp-deploy-tests.lock")


def answers() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


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
    if os.geteuid() != 0:
        pytest.skip("no Docker engine is running, and starting dockerd needs root")
    missing = [tool for tool in ("dockerd", "docker") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Debian's docker.io (.ci/run does)")
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
                pytest.fail(f"dockerd did not start (log: {log}):\n{tail}")
            time.sleep(0.5)
        yield
    finally:
        dockerd.terminate()
        try:
            dockerd.wait(60)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
