"""Notification fan-out to 10,000 sockets, a hot entry's likes, and the competitions cache.

Method
------
Everything runs on 127.0.0.1 from a temporary directory: PostgreSQL (already
running at 127.0.0.1:5432, user postgres) gets two throwaway databases,
``litcomp_bench_<random>_users`` and ``_competitions``, dropped at the end; a private
``redis-server`` (no persistence) runs on a free port; discovery, one users
instance and ONE competitions instance are started as ``litcomp serve`` processes (by
``bench.stack.Stack``, a ``litcomp.launcher.Launcher``; logging at WARNING). Every
process, database and the Redis server (so every key) goes at the end, error,
Ctrl-C, TERM or the time limit included.

Seeding skips the HTTP API where it would take hours: the users and their
subscriptions to one competition are COPYed into the users database (one real
argon2 hash shared by all), and their tokens are minted with the users service's
own signing key (``var/jwt-signing-key.pem``), as its /users/login would. The
admin is made with ``litcomp create-admin`` and logs in over HTTP; the competition
is created over HTTP.

1. Fan-out. ``--processes`` client processes (bench/ws_clients.py) open
   ``--sockets`` WebSockets, one per subscriber, straight to the competitions
   instance's ``/ws`` (its WebSocket port from discovery). The instance's VmRSS is read
   before (after a few sockets have come and gone, so one-off imports are not
   counted) and once all sockets are open and idle: the difference per socket is
   the memory per idle socket. Then, each round, a writer who is not subscribed
   (a different one per round) POSTs an entry to /competitions/{id}/submit; the
   entry's commit lies between the moment the POST was sent and the moment its
   answer arrived. The fan-out worker records one notice per subscriber and the
   sockets get them; each client times every message as it reads it. A round
   ends when every socket has its notice, and the next entry waits until the
   instance's CPU use is back to its idle level. Reported per round: the time from the
   POST's answer to the last socket's notice (also to the first, and per socket),
   and from the notice's ``created_at`` (stamped in the fan-out transaction,
   before its commit) to the last socket. p50/p99 over the rounds (and over every
   socket of every round); the first ``--warmup-rounds`` are left out.
2. Hot entry. ``--likers`` distinct users (the first subscribers, their sockets
   closed by then) like one new entry at once, straight to the competitions
   instance, each on its own connection; an answer other than 200 is retried
   (a like is idempotent). Checked: the entry's like count and the author's
   ``submission.liked`` notices (GET /notifications, paged with ``after``) are both
   exactly ``--likers``.
3. Cache. The gateway and two competitions replicas, with ``--competitions``
   active competitions, twice: the replicas with LITCOMP_REDIS_URL (cached; hits
   checked in their /metrics) and without it (every request reads PostgreSQL).
   ``wrk`` GETs /competitions through the gateway, as in gateway_vs_nginx.py.

The machine's cores are shared by the clients, the services and PostgreSQL: a
client busy reading other sockets' messages delays its own timing, so the
latencies are upper bounds of what the server alone would show.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from argon2 import PasswordHasher

from bench import people
from bench.gateway_vs_nginx import parse_wrk
from bench.people import PASSWORD, Person
from bench.stack import Service, Stack, redis_answers, start, wait_until
from litcomp.kit.auth import SigningKey
from litcomp.launcher import free_port

HOST = "127.0.0.1"
POSTGRES = f"postgresql://postgres@{HOST}:5432"
CLIENTS = Path(__file__).with_name("ws_clients.py")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ISSUER = "litcomp-users"
STORY = "Once upon a time, a benchmark. " * 20
IDLE_SECONDS = 10.5  # covers one safety poll (every 10 s with Redis, every 1 s without)


# --- PostgreSQL and Redis ----------------------------------------------------------------


@dataclass(frozen=True)
class Databases:
    users: str
    competitions: str

    @staticmethod
    def url(name: str) -> str:
        return f"{POSTGRES}/{name}"


async def _run_sql(*statements: str) -> None:
    connection = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def throwaway_databases(run_id: str) -> Iterator[Databases]:
    """Two new, empty databases, dropped on the way out whatever happened."""
    databases = Databases(f"litcomp_bench_{run_id}_users", f"litcomp_bench_{run_id}_competitions")
    names = (databases.users, databases.competitions)
    try:
        asyncio.run(_run_sql(*(f'CREATE DATABASE "{name}"' for name in names)))
        yield databases
    finally:
        asyncio.run(_run_sql(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names)))


def start_redis(stack: contextlib.ExitStack, workdir: Path) -> str:
    """A private redis-server, no persistence: its keys end with it."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", HOST, "--save", ""]
    started = start(stack, workdir, "redis", [*command, "--appendonly", "no"], os.environ)
    wait_until(lambda: redis_answers(port), started)
    return f"redis://{HOST}:{port}/0"


# --- litcomp processes -------------------------------------------------------------------


# --- /proc ---------------------------------------------------------------------------------


def status_kib(pid: int, field_name: str) -> int:
    """A ``kB`` field of /proc/PID/status, such as VmRSS or VmHWM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field_name} for pid {pid}")


def cpu_seconds(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def postgres_cpu_seconds() -> float:
    """CPU seconds of every ``postgres`` process on this machine (the server is shared)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
            fields = text[text.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def raise_file_limit(needed: int) -> int:
    """Raise this process's open-files limit (the services inherit it) to the hard one."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"the open-files hard limit is {hard}; {needed} needed (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- seeding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    user_id: uuid.UUID
    username: str
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def insert_users(url: str, prefix: str, count: int) -> list[Account]:
    """``count`` users COPYed into the users table, all with one (real) password hash."""
    password_hash = PasswordHasher().hash(PASSWORD)
    now = datetime.now(UTC)
    accounts = [Account(uuid.uuid4(), f"{prefix}{n:05d}") for n in range(count)]
    rest = (password_hash, "user", "", "", now)  # password_hash, role, bio, picture, created_at
    emails = [f"{a.username}@bench.example" for a in accounts]
    rows = [
        (a.user_id, a.username, email, a.username.casefold(), email.casefold(), *rest)
        for a, email in zip(accounts, emails, strict=True)
    ]
    columns = ["id", "username", "email", "username_key", "email_key", "password_hash"]
    columns += ["role", "bio", "profile_picture", "created_at"]
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table("users", records=rows, columns=columns)
    finally:
        await connection.close()
    return accounts


async def insert_subscriptions(url: str, accounts: list[Account], competition_id: str) -> None:
    now = datetime.now(UTC)
    rows = [(a.user_id, uuid.UUID(competition_id), now) for a in accounts]
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "subscriptions", records=rows, columns=["user_id", "competition_id", "created_at"]
        )
    finally:
        await connection.close()


def mint_tokens(key_file: Path, accounts: list[Account]) -> list[Account]:
    """Tokens as the users service issues them at login, signed with its key."""
    key = SigningKey.load_or_create(key_file)
    return [
        Account(
            a.user_id,
            a.username,
            key.issue(
                user_id=a.user_id,
                role="user",
                issuer=ISSUER,
                ttl=timedelta(hours=1),
                username=a.username,
            )[0],
        )
        for a in accounts
    ]


# --- HTTP ----------------------------------------------------------------------------------


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    account: Account | Person | None = None,
    body: Mapping[str, Any] | None = None,
    expect: int = 200,
) -> Any:
    headers = account.auth if account else {}
    async with http.request(method, url, json=body, headers=headers) as response:
        if response.status != expect:
            raise SystemExit(f"{method} {url}: {response.status} {await response.text()}")
        return await response.json()


async def log_in(users_url: str, email: str) -> Person:
    async with aiohttp.ClientSession() as http:
        return await people.log_in(http, users_url, email)


async def create_competitions(url: str, admin: Person, count: int) -> list[str]:
    start = datetime.now(UTC) - timedelta(hours=1)
    created = []
    async with aiohttp.ClientSession() as http:
        for n in range(count):
            body = {
                "title": f"Bench competition {n}",
                "description": "Stories written while a benchmark runs.",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=2, minutes=n)).isoformat(),
            }
            answer = await call(
                http, "POST", f"{url}/competitions", account=admin, body=body, expect=201
            )
            created.append(str(answer["competition_id"]))
    return created


async def submit(http: aiohttp.ClientSession, url: str, competition: str, writer: Account) -> str:
    body = {"title": f"Entry by {writer.username}", "content": STORY}
    answer = await call(
        http,
        "POST",
        f"{url}/competitions/{competition}/submit",
        account=writer,
        body=body,
        expect=201,
    )
    return str(answer["submission_id"])


# --- statistics ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile, interpolated between closest ranks (as numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float], scale: float = 1000) -> str:
    """p50 / p99 / max, in milliseconds by default."""
    if not values:
        return "-"
    return (
        f"p50 {percentile(values, 50) * scale:7.1f}  p99 {percentile(values, 99) * scale:7.1f}"
        f"  max {max(values) * scale:7.1f}"
    )


def parse_instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- 1. fan-out ----------------------------------------------------------------------------


class Fleet:
    """The client processes holding the sockets, driven over their stdin and stdout."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes
        self.events: list[asyncio.Queue[dict[str, Any]]] = [asyncio.Queue() for _ in processes]
        self._readers = [
            asyncio.create_task(self._read(p, q))
            for p, q in zip(processes, self.events, strict=True)
        ]

    @classmethod
    async def start(
        cls, ws_url: str, tokens_file: Path, sockets: int, count: int, concurrency: int, logs: Path
    ) -> "Fleet":
        share = -(-sockets // count)
        processes = []
        for n in range(count):
            first, size = n * share, min(share, sockets - n * share)
            with (logs / f"ws-clients-{n}.log").open("wb") as log:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        str(CLIENTS),
                        ws_url,
                        str(tokens_file),
                        str(first),
                        str(size),
                        str(concurrency),
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=log,
                        limit=1 << 28,  # a report is one long line
                    )
                )
        return cls(processes)

    @staticmethod
    async def _read(
        process: asyncio.subprocess.Process, queue: asyncio.Queue[dict[str, Any]]
    ) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            await queue.put(json.loads(line))
        await queue.put({"event": "exited", "code": await process.wait()})

    async def _next(self, index: int, event: str, **match: Any) -> dict[str, Any]:
        while True:
            got = await self.events[index].get()
            if got["event"] == "exited":
                raise SystemExit(f"WebSocket client {index} exited ({got['code']})")
            if got["event"] == event and all(got.get(k) == v for k, v in match.items()):
                return got

    async def _all(self, event: str, within: float, **match: Any) -> list[dict[str, Any]]:
        waits = (self._next(i, event, **match) for i in range(len(self.processes)))
        return await asyncio.wait_for(asyncio.gather(*waits), within)

    async def connected(self, within: float) -> list[dict[str, Any]]:
        return await self._all("connected", within)

    async def complete(self, entry: str, within: float) -> float | None:
        """When the last socket got the entry's notice; None if one has not after ``within``."""
        try:
            done = await self._all("complete", within, submission_id=entry)
        except TimeoutError:
            return None
        return max(float(d["last"]) for d in done)

    async def report(self) -> list[dict[str, Any]]:
        await self._command("report")
        return await self._all("report", 60)

    async def _command(self, command: str) -> None:
        for process in self.processes:
            if process.returncode is None and process.stdin is not None:
                process.stdin.write(f"{command}\n".encode())
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._command("quit")
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@dataclass(frozen=True)
class Round:
    entry: str
    sent: float  # the POST left: the entry's commit came after this
    answered: float  # its answer arrived: the commit came before this
    last_seen: float | None  # the last socket got the notice (None: not every socket did)
    server_cpu: float  # CPU seconds of the competitions instance during the round
    users_cpu: float
    postgres_cpu: float


@dataclass(frozen=True)
class RoundResult:
    round: Round
    reached: int
    first: float  # seconds from the POST's answer to the first socket's notice
    last: float  # ... to the last socket's
    per_socket: list[float]
    created_to_last: float  # from the notice's created_at to the last socket
    answer_to_created: float  # from the POST's answer to the notice's created_at


@dataclass
class FanoutResult:
    sockets: int = 0
    connect_seconds: float = 0.0
    connect_failures: int = 0
    rss_before_kib: int = 0
    rss_open_kib: int = 0
    rss_end_kib: int = 0
    hwm_end_kib: int = 0
    idle_cpu_share: float = 0.0
    results: list[RoundResult] = field(default_factory=list)
    warmup: list[RoundResult] = field(default_factory=list)
    gaps: int = 0
    lost_sockets: int = 0
    other_messages: int = 0

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_open_kib - self.rss_before_kib) / max(self.sockets, 1)


def analyse(round_: Round, reports: list[dict[str, Any]]) -> RoundResult:
    arrivals = [t for r in reports for t in r["arrivals"].get(round_.entry, [])]
    created = next(
        (
            parse_instant(r["created_at"][round_.entry])
            for r in reports
            if round_.entry in r["created_at"]
        ),
        float("nan"),
    )
    last = max(arrivals, default=float("nan"))
    return RoundResult(
        round=round_,
        reached=len(arrivals),
        first=min(arrivals, default=float("nan")) - round_.answered,
        last=last - round_.answered,
        per_socket=[t - round_.answered for t in arrivals],
        created_to_last=last - created,
        answer_to_created=created - round_.answered,
    )


async def warm_up_sockets(ws_url: str, accounts: list[Account]) -> None:
    """Open and close a few sockets, so first-use costs are not counted per socket."""
    async with aiohttp.ClientSession() as http:
        for account in accounts:
            async with http.ws_connect(ws_url, headers=account.auth, heartbeat=None) as socket:
                await socket.send_str("ping")
                await socket.receive(timeout=5)


async def wait_idle(pid: int, share: float, longest: float) -> float:
    """Until the process uses under ``share`` of a core over half a second; how long it took."""
    began = time.monotonic()
    while await idle_cpu_share(pid, 0.5) >= share and time.monotonic() - began < longest:
        pass
    return time.monotonic() - began


async def idle_cpu_share(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


async def one_round(
    http: aiohttp.ClientSession,
    fleet: Fleet,
    competitions: Service,
    users_pid: int,
    competition: str,
    writer: Account,
) -> Round:
    cpu = cpu_seconds(competitions.pid), cpu_seconds(users_pid), postgres_cpu_seconds()
    sent = time.time()
    entry = await submit(http, competitions.url, competition, writer)
    answered = time.time()
    last_seen = await fleet.complete(entry, within=30)
    return Round(
        entry,
        sent,
        answered,
        last_seen,
        cpu_seconds(competitions.pid) - cpu[0],
        cpu_seconds(users_pid) - cpu[1],
        postgres_cpu_seconds() - cpu[2],
    )


async def open_sockets(fleet: Fleet, result: FanoutResult) -> None:
    connected = await fleet.connected(within=240)
    result.sockets = sum(c["sockets"] for c in connected)
    result.connect_failures = sum(c["failed"] for c in connected)
    result.connect_seconds = max(c["seconds"] for c in connected)
    log("fan-out: %d sockets open", result.sockets)
    for c in connected:
        if c["errors"]:
            log("fan-out: connection errors, e.g. %s", c["errors"][0])


async def play_rounds(
    args: argparse.Namespace,
    fleet: Fleet,
    competitions: Service,
    users_pid: int,
    competition: str,
    writers: list[Account],
    idle_share: float,
) -> list[Round]:
    """One entry per writer; before the next, the instance is back to its idle CPU."""
    rounds: list[Round] = []
    # A new connection per entry: a kept-alive one may be closed by the server meanwhile.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        for n, writer in enumerate(writers):
            done = await one_round(http, fleet, competitions, users_pid, competition, writer)
            rounds.append(done)
            settled = await wait_idle(competitions.pid, share=idle_share + 0.1, longest=10)
            log(
                "fan-out: round %d: last socket %s s after the answer, idle %.1f s later",
                n + 1,
                "-" if done.last_seen is None else f"{done.last_seen - done.answered:.2f}",
                settled,
            )
            await asyncio.sleep(args.pause)
    return rounds


async def run_fanout(
    args: argparse.Namespace,
    workdir: Path,
    competitions: Service,
    users_pid: int,
    competition: str,
    subscribers: list[Account],
    writers: list[Account],
) -> FanoutResult:
    ws_url = f"ws://{HOST}:{competitions.ws_port}/ws"
    tokens_file = workdir / "tokens.txt"
    tokens_file.write_text("\n".join(a.token for a in subscribers[: args.sockets]) + "\n")
    result = FanoutResult()
    await warm_up_sockets(ws_url, writers[:20])
    await asyncio.sleep(1)
    result.rss_before_kib = status_kib(competitions.pid, "VmRSS")
    log("fan-out: opening %d sockets from %d processes", args.sockets, args.processes)
    fleet = await Fleet.start(ws_url, tokens_file, args.sockets, args.processes, 10, workdir)
    try:
        await open_sockets(fleet, result)
        await asyncio.sleep(3)  # idle: nothing in flight
        result.rss_open_kib = status_kib(competitions.pid, "VmRSS")
        result.idle_cpu_share = await idle_cpu_share(competitions.pid, args.idle_seconds)
        rounds = await play_rounds(
            args,
            fleet,
            competitions,
            users_pid,
            competition,
            writers[: args.warmup_rounds + args.rounds],
            result.idle_cpu_share,
        )
        reports = await fleet.report()
        result.rss_end_kib = status_kib(competitions.pid, "VmRSS")
        result.hwm_end_kib = status_kib(competitions.pid, "VmHWM")
    finally:
        await fleet.close()
    analysed = [analyse(r, reports) for r in rounds]
    result.warmup = analysed[: args.warmup_rounds]
    result.results = analysed[args.warmup_rounds :]
    result.gaps = sum(r["gaps"] for r in reports)
    result.lost_sockets = sum(r["closed_count"] for r in reports)
    result.other_messages = sum(r["other_messages"] for r in reports)
    return result


# --- 2. a hot entry ------------------------------------------------------------------------

LIKE_ATTEMPTS = 10


@dataclass(frozen=True)
class Like:
    seconds: float  # from release to the 200 (retries included)
    attempts: int
    first_status: int  # 0: no HTTP answer (connection error)
    final_status: int


@dataclass(frozen=True)
class LikesResult:
    likes: list[Like]
    wall_seconds: float
    like_count: int
    liked_notices: int
    notice_ids_in_order: bool
    server_cpu: float
    outages: dict[str, int]  # the instance's "dependency unavailable" log lines, by error


OUTAGE_LOG = re.compile(r"dependency unavailable: (\w+)")


def outages_logged(instance: Service) -> dict[str, int]:
    """What the instance logged as 503s (kit/http.py: "dependency unavailable: <error>")."""
    found: dict[str, int] = {}
    for line in instance.logs().splitlines():
        error = OUTAGE_LOG.search(line)
        if error is not None:
            pool = " (pool exhausted)" if "QueuePool limit" in line else ""
            found[error[1] + pool] = found.get(error[1] + pool, 0) + 1
    return found


async def like_once(http: aiohttp.ClientSession, url: str, liker: Account) -> int:
    try:
        async with http.post(url, headers=liker.auth) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def like(http: aiohttp.ClientSession, url: str, liker: Account, go: asyncio.Event) -> Like:
    await go.wait()
    began = time.perf_counter()
    statuses = []
    for attempt in range(1, LIKE_ATTEMPTS + 1):
        statuses.append(await like_once(http, url, liker))
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.05 * attempt)
    return Like(time.perf_counter() - began, len(statuses), statuses[0], statuses[-1])


async def liked_notices(http: aiohttp.ClientSession, base: str, author: Account) -> list[int]:
    """The ids of the author's submission.liked notices, paging through all notices."""
    ids: list[int] = []
    after = 0
    while True:
        page = await call(
            http, "GET", f"{base}/notifications?limit=500&after={after}", account=author
        )
        items = page["items"]
        ids += [n["id"] for n in items if n["type"] == "submission.liked"]
        if len(items) < 500:
            return ids
        after = items[-1]["id"]


async def run_likes(
    competitions: Service, competition: str, author: Account, likers: list[Account]
) -> LikesResult:
    base = competitions.url
    await wait_idle(competitions.pid, share=0.1, longest=20)  # e.g. closing part 1's sockets
    outages_before = outages_logged(competitions)
    async with aiohttp.ClientSession() as http:
        entry = await submit(http, base, competition, author)
    url = f"{base}/competitions/{competition}/like/{entry}"
    go = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        tasks = [asyncio.create_task(like(http, url, liker, go)) for liker in likers]
        await asyncio.sleep(0.5)  # every task waits at the gate
        cpu = cpu_seconds(competitions.pid)
        began = time.perf_counter()
        go.set()
        likes = await asyncio.gather(*tasks)
        wall = time.perf_counter() - began
        server_cpu = cpu_seconds(competitions.pid) - cpu
    async with aiohttp.ClientSession() as http:
        details = await call(http, "GET", f"{base}/competitions/{competition}/submissions/{entry}")
        ids = await liked_notices(http, base, author)
    return LikesResult(
        likes=likes,
        wall_seconds=wall,
        like_count=int(details["likes"]),
        liked_notices=len(ids),
        notice_ids_in_order=ids == list(range(1, len(ids) + 1)),
        server_cpu=server_cpu,
        outages={
            error: count - outages_before.get(error, 0)
            for error, count in outages_logged(competitions).items()
        },
    )


# --- 3. cache ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    lookups: dict[str, float]  # cache outcome -> count, both replicas, measured runs
    replicas_us_per_request: float


LOOKUP = re.compile(
    r'^litcomp_cache_lookups_total\{cache="competitions",outcome="(\w+)"\} ([\d.e+]+)$', re.M
)


def cache_lookups(instances: list[Service]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for instance in instances:
        with urllib.request.urlopen(f"{instance.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        for outcome, value in LOOKUP.findall(text):
            totals[outcome] = totals.get(outcome, 0) + float(value)
    return totals


def wrk(url: str, seconds: float, connections: int) -> Any:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def measure_cache(
    platform_: Stack, args: argparse.Namespace, name: str, **replica_env: str
) -> CacheResult:
    """Two replicas and a gateway with ``replica_env``; wrk through the gateway; stop them."""
    replicas = platform_.add_replicas({"competitions": 2}, **replica_env)
    gateway = platform_.start_gateway()
    url = f"{platform_.url}/competitions"
    if args.warmup:
        wrk(url, args.warmup, args.connections)
    lookups, cpu = cache_lookups(replicas), sum(cpu_seconds(r.pid) for r in replicas)
    runs = [wrk(url, args.duration, args.connections) for _ in range(3)]
    used = sum(cpu_seconds(r.pid) for r in replicas) - cpu
    after = cache_lookups(replicas)
    requests = sum(r.requests for r in runs)
    gateway.stop()
    for replica in replicas:
        replica.stop()
    return CacheResult(
        requests_per_second=statistics.median(r.requests_per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=requests,
        errors=sum(r.errors for r in runs),
        lookups={k: v - lookups.get(k, 0) for k, v in after.items()},
        replicas_us_per_request=used * 1e6 / max(requests, 1),
    )


# --- report --------------------------------------------------------------------------------


def log(message: str, *values: object) -> None:
    print(message % values, file=sys.stderr, flush=True)


def machine_facts() -> list[str]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = Path("/proc/loadavg").read_text().split()[:3]
    return [
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()}",
        f"load:    {' '.join(load)} (load averages before the run)",
        f"python:  {platform.python_version()}, aiohttp {aiohttp.__version__}",
    ]


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_fanout(result: FanoutResult, args: argparse.Namespace) -> None:
    rounds = result.results
    lasts = [r.last for r in rounds]
    per_socket = [t for r in rounds for t in r.per_socket]
    print(f"\n1. fan-out ({'with' if args.redis else 'without'} Redis)")
    print(
        f"sockets:        {result.sockets} open from {args.processes} processes in "
        f"{result.connect_seconds:.1f} s ({result.connect_failures} failed)"
    )
    print(
        f"memory:         VmRSS {result.rss_before_kib / 1024:.1f} MiB before, "
        f"{result.rss_open_kib / 1024:.1f} MiB with the sockets open and idle: "
        f"{result.kib_per_socket:.1f} KiB per socket "
        f"(target < 20: {verdict(result.kib_per_socket < 20)})"
    )
    print(
        f"                after the rounds {result.rss_end_kib / 1024:.1f} MiB "
        f"(peak {result.hwm_end_kib / 1024:.1f} MiB)"
    )
    print(
        f"idle CPU:       {result.idle_cpu_share:.1%} of a core with the sockets open "
        f"(over {args.idle_seconds:g} s, nothing sent)"
    )
    print(f"rounds:         {len(rounds)} (after {len(result.warmup)} warm-up)")
    for r in result.warmup + rounds:
        tag = "warm-up" if r in result.warmup else ""
        print(
            f"  reached {r.reached:>5}  first {r.first * 1000:7.1f} ms"
            f"  last {r.last * 1000:7.1f} ms"
            f"  created_at->last {r.created_to_last * 1000:7.1f} ms"
            f"  answer->created_at {r.answer_to_created * 1000:6.1f} ms"
            f"  POST {(r.round.answered - r.round.sent) * 1000:5.1f} ms"
            f"  CPU s: competitions {r.round.server_cpu:.2f} users {r.round.users_cpu:.2f}"
            f" postgres {r.round.postgres_cpu:.2f}"
            f"  {tag}".rstrip()
        )
    print(
        f"last socket, from the POST's answer (ms):  {spread(lasts)}  "
        f"(target p99 < 1000: {verdict(percentile(lasts, 99) < 1)})"
    )
    print(
        f"last socket, from created_at (ms):         {spread([r.created_to_last for r in rounds])}"
    )
    print(f"first socket, from the POST's answer (ms): {spread([r.first for r in rounds])}")
    print(f"every socket, from the POST's answer (ms): {spread(per_socket)}")
    incomplete = [r for r in rounds if r.round.last_seen is None or r.reached < result.sockets]
    print(
        f"checks:         {len(incomplete)} incomplete round(s), {result.gaps} id gap(s), "
        f"{result.lost_sockets} socket(s) lost, {result.other_messages} other message(s)"
    )


def print_likes(result: LikesResult, count: int) -> None:
    seconds = [like.seconds for like in result.likes]
    retried = sum(like.attempts > 1 for like in result.likes)
    failed = sum(like.final_status != 200 for like in result.likes)
    first_statuses = sorted({like.first_status for like in result.likes})
    print(f"\n2. hot entry: {count} likers at once, straight to the competitions instance")
    print(
        f"likes/s:        {count / result.wall_seconds:.0f} "
        f"({count} in {result.wall_seconds:.2f} s;"
        f" competitions CPU {result.server_cpu:.2f} s)"
    )
    print(f"latency (ms):   {spread(seconds)}  (retries included)")
    print(f"answers:        {retried} retried (first answers: {first_statuses}), {failed} failed")
    if result.outages:
        print(f'503s logged:    {result.outages} (the instance\'s "dependency unavailable" lines)')
    print(
        f"like count:     {result.like_count} (expected {count}: "
        f"{verdict(result.like_count == count)})"
    )
    print(
        f"author's notices: {result.liked_notices} submission.liked (expected {count}: "
        f"{verdict(result.liked_notices == count)}), "
        f"ids 1..n in order: {result.notice_ids_in_order}"
    )


def print_cache(results: Mapping[str, CacheResult], args: argparse.Namespace) -> None:
    print(
        f"\n3. GET /competitions through the gateway, two replicas, {args.competitions} "
        f"competitions (wrk -t1 -c{args.connections} -d{args.duration:g}s, median of 3)"
    )
    print(f"{'':<10} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'replicas CPU us/req':>19}  lookups")
    for name, r in results.items():
        lookups = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r.lookups.items()) if v)
        print(
            f"{name:<10} {r.requests_per_second:>7.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{r.replicas_us_per_request:>19.0f}  {lookups} (errors {r.errors})"
        )
    on, off = results["cached"], results["uncached"]
    print(
        f"cached / uncached: {on.requests_per_second / off.requests_per_second:.2f}x req/s, "
        f"p50 {on.p50_ms / off.p50_ms:.2f}x, p99 {on.p99_ms / off.p99_ms:.2f}x"
    )


# --- main ----------------------------------------------------------------------------------


def check_quiet() -> None:
    """Refuse to measure while another benchmark runs."""
    busy = subprocess.run(["pgrep", "-f", "gateway_vs_nginx"], capture_output=True, text=True)
    if busy.stdout.strip():
        raise SystemExit("gateway_vs_nginx.py is running; measure once it is done")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=10, help="client processes")
    parser.add_argument("--rounds", type=int, default=15, help="measured entries")
    parser.add_argument("--warmup-rounds", type=int, default=1)
    parser.add_argument(
        "--pause", type=float, default=0.5, help="seconds between rounds, once the server is idle"
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=IDLE_SECONDS,
        help="how long the idle CPU share is measured (default: one safety poll)",
    )
    parser.add_argument("--likers", type=int, default=1000)
    parser.add_argument("--competitions", type=int, default=50, help="for the cache part")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before the runs")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--redis",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the competitions instance Redis in parts 1 and 2 (default: yes)",
    )
    parser.add_argument(
        "--parts", default="fanout,likes,cache", help="comma-separated: fanout, likes, cache"
    )
    parser.add_argument("--time-limit", type=int, default=540, help="seconds, then clean up")
    return parser.parse_args()


def stop_on(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def main() -> None:
    args = parse_args()
    parts = set(args.parts.split(","))
    check_quiet()
    if "cache" in parts and shutil.which("wrk") is None:
        raise SystemExit("part 3 needs wrk: sudo apt-get install -y wrk (or --parts fanout,likes)")
    raise_file_limit(args.sockets + 1000)
    # TERM, Ctrl-C and the time limit all stop the run through the clean-up.
    signal.signal(signal.SIGTERM, stop_on)
    signal.signal(signal.SIGALRM, stop_on)
    signal.alarm(args.time_limit)
    facts = machine_facts()
    run_id = secrets.token_hex(4)
    users_count = max(args.sockets, args.likers)
    writers_count = args.warmup_rounds + args.rounds + 1
    with (
        tempfile.TemporaryDirectory(prefix="litcomp-bench-") as temp,
        throwaway_databases(run_id) as databases,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(temp)
        redis_url = start_redis(stack, workdir)
        platform_ = Stack(
            stack,
            workdir,
            {
                "LITCOMP_USERS_DATABASE_URL": Databases.url(databases.users),
                "LITCOMP_COMPETITIONS_DATABASE_URL": Databases.url(databases.competitions),
                "LITCOMP_REDIS_PREFIX": f"bench{run_id}",
            },
        )
        platform_.start_discovery()
        users = platform_.add_replica("users")
        with_redis = {"LITCOMP_REDIS_URL": redis_url} if args.redis else {}
        competitions = platform_.add_replica("competitions", **with_redis)

        log("seeding: admin, competition, %d users, %d writers", users_count, writers_count)
        admin = asyncio.run(log_in(users.url, people.create_admin(platform_, "benchadmin")))
        competition = asyncio.run(create_competitions(competitions.url, admin, 1))[0]
        users_url = Databases.url(databases.users)
        subscribers = asyncio.run(insert_users(users_url, f"s{run_id}", users_count))
        writers = asyncio.run(insert_users(users_url, f"w{run_id}", writers_count))
        asyncio.run(insert_subscriptions(users_url, subscribers, competition))
        key_file = platform_.var_dir / "jwt-signing-key.pem"
        subscribers = mint_tokens(key_file, subscribers)
        writers = mint_tokens(key_file, writers)

        print("\n".join(facts))
        if "fanout" in parts:
            fanout = asyncio.run(
                run_fanout(
                    args, workdir, competitions, users.pid, competition, subscribers, writers[:-1]
                )
            )
            print_fanout(fanout, args)
        if "likes" in parts:
            log("likes: %d likers", args.likers)
            liked = asyncio.run(
                run_likes(competitions, competition, writers[-1], subscribers[: args.likers])
            )
            print_likes(liked, args.likers)
        if "cache" in parts:
            competitions.stop()
            log("cache: %d competitions, two replicas with Redis, then without", args.competitions)
            more = args.competitions - 1
            seeder = platform_.add_replica("competitions")
            asyncio.run(create_competitions(seeder.url, admin, more))
            seeder.stop()
            cached = measure_cache(platform_, args, "cached", LITCOMP_REDIS_URL=redis_url)
            uncached = measure_cache(platform_, args, "uncached")
            print_cache({"cached": cached, "uncached": uncached}, args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
