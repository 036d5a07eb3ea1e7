"""Starting litcomp's processes and keeping them running: what ``litcomp up`` does.

- ``Backoff`` says how long to wait before starting again a process that exited:
  0.5 s after a first exit, doubling with each exit that follows, up to 30 s; a
  process that had run for a minute when it exited starts again after 0.5 s. Pure,
  clock injected.
- ``Child`` is one ``litcomp serve SERVICE`` process. Started again, it is told how
  often it was restarted (``LITCOMP_INSTANCE_RESTARTS``), which it registers with
  discovery and the gateway's status page shows.
- ``supervise`` restarts every child that exits, whatever its exit code or signal,
  after its backoff, and logs each exit on stderr, until asked to stop.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

Clock = Callable[[], float]


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
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit code (0 if never
        started)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def supervise(
    children: Sequence[Child], stopping: Callable[[], bool], interval: float = 0.1
) -> None:
    """Keep every child running (``Child.tend``) until ``stopping()`` says otherwise."""
    while not stopping():
        for child in children:
            child.tend()
        time.sleep(interval)


def stop_all(children: Sequence[Child]) -> None:
    """Stop the children in reverse order of starting (the gateway before the instances
    it routes to, discovery last)."""
    for child in reversed(children):
        child.stop()
