"""A redis-server of a test's own, which it may stop and start (a restart, an outage)."""

import socket
import subprocess
from dataclasses import dataclass

from tests.support import wait_until


@dataclass
class PrivateRedis:
    """A redis-server only these tests use, so they can stop and start it."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, "redis-server")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait()

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
