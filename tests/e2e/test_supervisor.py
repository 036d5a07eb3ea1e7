"""`litcomp up` supervises: a replica killed under load comes back, and nothing fails.

"Nothing fails" here means every request of the load gets its success answer: reads
(a competition, its entries, an entry) and writes (comments, each with its own
`Idempotency-Key`). A request the killed replica had taken is retried once by the
gateway on another replica: reads always, writes because they carry a key (the retry
of a comment that was in fact committed answers with the first one and adds none).
So afterwards the entry holds exactly one comment per acknowledged write.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import (
    Account,
    create_competition,
    free_port,
    get_json,
    log_in,
    service_env,
    sign_up,
    wait_until,
)

COMMENT_EVERY = 4  # one write in four requests


class Up:
    """`litcomp up --competitions 3` in a folder of its own, on SQLite (its defaults)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        discovery_port, gateway_port = free_port(), free_port()
        self.discovery_url = f"http://127.0.0.1:{discovery_port}"
        self.url = f"http://127.0.0.1:{gateway_port}"
        self.env = service_env(
            workdir / "var",
            {
                "LITCOMP_DISCOVERY_PORT": str(discovery_port),
                "LITCOMP_DISCOVERY_URL": self.discovery_url,
                "LITCOMP_GATEWAY_PORT": str(gateway_port),
                "LITCOMP_GATEWAY_RATE_PER_SECOND": "100000",
                "LITCOMP_GATEWAY_RATE_BURST": "100000",
                "LITCOMP_GATEWAY_REFRESH_SECONDS": "0.2",
                # The dead replica leaves the lists within seconds.
                "LITCOMP_DISCOVERY_TTL_SECONDS": "2",
                "LITCOMP_DISCOVERY_GRACE_SECONDS": "1",
            },
        )
        self.stderr_path = workdir / "up.stderr"
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "litcomp.cli", "up", "--competitions", "3"],
                cwd=workdir,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        stdout = self.process.stdout
        assert stdout is not None
        self.output: list[str] = []
        # Read on after the start, so a full pipe never blocks it or its children.
        self.reader = threading.Thread(target=self.output.extend, args=[stdout])
        for line in stdout:
            if line.startswith("litcomp is up"):
                self.reader.start()
                return
        raise AssertionError(f"litcomp up did not start:\n{self.stderr_path.read_text()}")

    def children(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def competitions(self) -> list[dict[str, object]]:
        status = get_json(f"{self.url}/gateway/status")
        return list(status["services"]["competitions"]) if status else []

    def create_admin(self, name: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "litcomp.cli", "create-admin", "--email",
             f"{name}@example.com", "--username", name, "--password", "correct horse battery"],
            cwd=self.workdir, env=self.env, capture_output=True, check=True,
        )  # fmt: skip


def pid_of(instance: dict[str, object]) -> int:
    """The process id in an instance id (``<host>-<pid>-<random>``)."""
    return int(str(instance["instance_id"]).rsplit("-", 2)[1])


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = Up(tmp_path)
    try:
        yield running
    finally:
        if running.process.poll() is None:  # the test failed before stopping it
            running.process.send_signal(signal.SIGTERM)
            running.process.wait(30)
        running.reader.join(5)
        assert running.process.stdout is not None
        running.process.stdout.close()


class Load:
    """Reads and keyed writes through the gateway from a thread, until stopped (or
    ``limit`` requests); records each answer's status."""

    def __init__(self, url: str, competition_id: str, entry_id: str, reader: Account) -> None:
        self.url = url
        competition = f"/competitions/{competition_id}"
        self.entry = f"{competition}/submissions/{entry_id}"
        self.reads = [competition, f"{competition}/submissions", self.entry]
        self.comment = f"{competition}/comment/{entry_id}"
        self.reader = reader
        self.answers: Counter[tuple[str, int | str]] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self, limit: int = 3000) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for n in range(limit):
                if self.stop.is_set():
                    return
                kind = "write" if n % COMMENT_EVERY == 0 else "read"
                try:
                    if kind == "write":
                        key = {"Idempotency-Key": uuid.uuid4().hex, **self.reader.auth}
                        body = {"content": f"comment {n}"}
                        status = client.post(self.comment, json=body, headers=key).status_code
                    else:
                        status = client.get(self.reads[n % len(self.reads)]).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                self.answers[kind, status] += 1
                self.stop.wait(0.01)


@pytest.mark.timeout(180)
def test_a_killed_replica_is_restarted_while_the_rest_keeps_serving(up: Up):
    with httpx.Client(base_url=up.url, timeout=10) as client:
        up.create_admin("boss")
        admin = log_in(client, "boss@example.com", "boss")
        writer, reader = sign_up(client, "writer"), sign_up(client, "reader")
        competition_id = create_competition(client, admin)
        entry = client.post(
            f"/competitions/{competition_id}/submit",
            json={"title": "Kept", "content": "through a crash"},
            headers=writer.auth,
        )
        assert entry.status_code == 201, entry.text
        wait_until(lambda: len(up.competitions()) == 3, "the gateway to route to 3 replicas")
        before = up.competitions()
        assert [i["restarts"] for i in before] == [0, 0, 0]
        victim = pid_of(before[1])
        others = {pid_of(i) for i in before} - {victim}

        load = Load(up.url, competition_id, entry.json()["submission_id"], reader)
        load.thread.start()
        try:
            wait_until(lambda: sum(load.answers.values()) >= 40, "the load to run")
            os.kill(victim, signal.SIGKILL)

            def back() -> bool:
                listed = up.competitions()
                pids = {pid_of(i) for i in listed}
                return len(listed) == 3 and victim not in pids and others < pids

            wait_until(back, "the killed replica to come back", timeout=60)
            reborn = next(i for i in up.competitions() if pid_of(i) not in others)
            assert reborn["restarts"] == 1
            assert {pid_of(i): i["restarts"] for i in up.competitions()} == {
                **{pid: 0 for pid in others},
                pid_of(reborn): 1,
            }
            served = sum(load.answers.values())
            wait_until(lambda: sum(load.answers.values()) >= served + 40, "load on the new one")
        finally:
            load.stop.set()
            load.thread.join(30)

        statuses = {kind: {s for k, s in load.answers if k == kind} for kind in ("read", "write")}
        assert statuses == {"read": {200}, "write": {201}}, load.answers
        print(f"answers under the kill: {dict(load.answers)}")
        acknowledged = load.answers["write", 201]
        page = client.get(load.entry).json()
        assert len(page["comments"]) == acknowledged

    logged = up.stderr_path.read_text()
    assert re.search(
        rf"^competitions-\d \(pid {victim}\) ended with signal SIGKILL; "
        r"restarting it in 0\.5 s \(restart 1\)$",
        logged,
        re.MULTILINE,
    ), logged

    children = up.children()
    assert len(children) == 6  # discovery, a users and 3 competitions instances, gateway
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(30) == 0
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    assert get_json(f"{up.discovery_url}/health") is None
