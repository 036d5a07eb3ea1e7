"""The ``fanout`` and ``likes`` parts of `make bench`: notification fan-out to thousands
of sockets, and a hot entry's likes.

Method
------
``seeded`` starts discovery, one users instance and ONE competitions instance (with
the run's Redis) on fresh databases of the run's PostgreSQL cluster, and seeds them.
Seeding skips the HTTP API where it would take hours: the users and their
subscriptions (one competition per fan-out size) are COPYed into the users database
(one real argon2 hash shared by all), and their tokens are minted with the users
service's own signing key (``var/jwt-signing-key.pem``), as its /users/login would.
The admin is made with ``litcomp create-admin`` and logs in over HTTP; the
competitions are created over HTTP.

1. ``fan_out``, for each ``--sockets`` size, on a fresh competitions instance (one
   that held sockets before keeps the memory they freed). Client processes
   (bench/ws_clients.py) open one WebSocket per subscriber, straight to the
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
   before its commit) to the last socket. p50/p99 over the ``--fanout-rounds``
   rounds (and over every socket of every round); the first ``--warmup-rounds``
   are left out.
2. ``likes``: ``--likers`` distinct users (the first subscribers, their sockets
   closed by then) like one new entry at once, straight to the competitions
   instance, each on its own connection; an answer other than 200 is retried
   (a like is idempotent). Checked: the entry's like count and the author's
   ``submission.liked`` notices (GET /notifications, paged with ``after``) are both
   exactly ``--likers``.

The machine's cores are shared by the clients, the services and PostgreSQL: a
client busy reading other sockets' messages delays its own timing, so the
latencies are upper bounds of what the server alone would show.
"""

import argparse
import asyncio
import contextlib
import json
import re
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from argon2 import PasswordHasher
from websockets.asyncio.client import connect

from bench.measure import CLOCK_TICKS, cpu_seconds, log, percentile
from bench.people import DOMAIN, PASSWORD, Person, create_admin, open_competitions
from bench.stack import HOST, PostgresCluster, Service, Stack
from litcomp.kit.auth import SigningKey

CLIENTS = Path(__file__).with_name("ws_clients.py")
ISSUER = "litcomp-users"
STORY = "Once upon a time, a benchmark. " * 20
IDLE_SECONDS = 10.5  # covers one safety poll (every 10 s with Redis, every 1 s without)
PAUSE = 0.5  # seconds between rounds, once the instance is idle
# A POST may wait behind a fan-out to thousands of sockets on a busy machine: httpx's
# default of 5 s would fail a run that is only slow.
TIMEOUT = httpx.Timeout(300, connect=30)


# --- /proc ------------------------------------------------------------------------------------


def status_kib(pid: int, field_name: str) -> int:
    """A ``kB`` field of /proc/PID/status, such as VmRSS or VmHWM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field_name} for pid {pid}")


def postgres_cpu_seconds() -> float:
    """CPU seconds of every ``postgres`` process on this machine (the run's and any other)."""
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


async def insert_users(url: str, prefix: str, count: int) -> list[Person]:
    """``count`` users COPYed into the users table, all with one (real) password hash;
    their tokens are minted by ``mint_tokens``."""
    password_hash = PasswordHasher().hash(PASSWORD)
    now = datetime.now(UTC)
    people = [Person(str(uuid.uuid4()), f"{prefix}{n:05d}@{DOMAIN}", "") for n in range(count)]
    rest = (password_hash, "user", "", "", now)  # password_hash, role, bio, picture, created_at
    rows = []
    for p in people:
        keys = (p.username.casefold(), p.email.casefold())
        rows.append((uuid.UUID(p.user_id), p.username, p.email, *keys, *rest))
    columns = ["id", "username", "email", "username_key", "email_key", "password_hash"]
    columns += ["role", "bio", "profile_picture", "created_at"]
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table("users", records=rows, columns=columns)
    finally:
        await connection.close()
    return people


async def insert_subscriptions(url: str, people: list[Person], competition_id: str) -> None:
    now = datetime.now(UTC)
    rows = [(uuid.UUID(p.user_id), uuid.UUID(competition_id), now) for p in people]
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "subscriptions", records=rows, columns=["user_id", "competition_id", "created_at"]
        )
    finally:
        await connection.close()


def mint_tokens(key_file: Path, people: list[Person]) -> list[Person]:
    """Tokens as the users service issues them at login, signed with its key."""
    key = SigningKey.load_or_create(key_file)
    return [
        Person(
            p.user_id,
            p.email,
            key.issue(
                user_id=uuid.UUID(p.user_id),
                role="user",
                issuer=ISSUER,
                ttl=timedelta(hours=1),
                username=p.username,
            )[0],
        )
        for p in people
    ]


# --- HTTP ----------------------------------------------------------------------------------


async def call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    person: Person | None = None,
    body: Mapping[str, Any] | None = None,
    expect: int = 200,
) -> Any:
    headers = person.auth if person else {}
    response = await http.request(method, url, json=body, headers=headers)
    if response.status_code != expect:
        raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")
    return response.json()


async def submit(http: httpx.AsyncClient, url: str, competition: str, writer: Person) -> str:
    body = {"title": f"Entry by {writer.username}", "content": STORY}
    answer = await call(
        http,
        "POST",
        f"{url}/competitions/{competition}/submit",
        person=writer,
        body=body,
        expect=201,
    )
    return str(answer["submission_id"])


# --- statistics ----------------------------------------------------------------------------


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


async def warm_up_sockets(ws_url: str, people: list[Person]) -> None:
    """Open and close a few sockets, so first-use costs are not counted per socket."""
    for person in people:
        async with connect(ws_url, additional_headers=person.auth, ping_interval=None) as socket:
            await socket.send("ping")
            async with asyncio.timeout(5):
                await socket.recv()


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
    http: httpx.AsyncClient,
    fleet: Fleet,
    competitions: Service,
    users_pid: int,
    competition: str,
    writer: Person,
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
    writers: list[Person],
    idle_share: float,
) -> list[Round]:
    """One entry per writer; before the next, the instance is back to its idle CPU."""
    rounds: list[Round] = []
    # A new connection per entry: a kept-alive one may be closed by the server meanwhile.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=no_keepalive) as http:
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
            await asyncio.sleep(PAUSE)
    return rounds


def client_processes(sockets: int) -> int:
    """One client process per 500 sockets, 1 to 10."""
    return max(1, min(10, sockets // 500))


async def run_fanout(
    args: argparse.Namespace,
    size: int,
    workdir: Path,
    competitions: Service,
    users_pid: int,
    competition: str,
    subscribers: list[Person],
    writers: list[Person],
) -> FanoutResult:
    ws_url = f"ws://{HOST}:{competitions.ws_port}/ws"
    tokens_file = workdir / "tokens.txt"
    tokens_file.write_text("\n".join(p.token for p in subscribers[:size]) + "\n")
    result = FanoutResult()
    await warm_up_sockets(ws_url, writers[:20])
    await asyncio.sleep(1)
    result.rss_before_kib = status_kib(competitions.pid, "VmRSS")
    processes = client_processes(size)
    log("fan-out: opening %d sockets from %d processes", size, processes)
    fleet = await Fleet.start(ws_url, tokens_file, size, processes, 10, workdir)
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
            writers[: args.warmup_rounds + args.fanout_rounds],
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


async def like_once(http: httpx.AsyncClient, url: str, liker: Person) -> int:
    try:
        response = await http.post(url, headers=liker.auth)
    except httpx.HTTPError:
        return 0
    return response.status_code


async def like(http: httpx.AsyncClient, url: str, liker: Person, go: asyncio.Event) -> Like:
    await go.wait()
    began = time.perf_counter()
    statuses = []
    for attempt in range(1, LIKE_ATTEMPTS + 1):
        statuses.append(await like_once(http, url, liker))
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.05 * attempt)
    return Like(time.perf_counter() - began, len(statuses), statuses[0], statuses[-1])


async def liked_notices(http: httpx.AsyncClient, base: str, author: Person) -> list[int]:
    """The ids of the author's submission.liked notices, paging through all notices."""
    ids: list[int] = []
    after = 0
    while True:
        page = await call(
            http, "GET", f"{base}/notifications?limit=500&after={after}", person=author
        )
        items = page["items"]
        ids += [n["id"] for n in items if n["type"] == "submission.liked"]
        if len(items) < 500:
            return ids
        after = items[-1]["id"]


async def run_likes(
    competitions: Service, competition: str, author: Person, likers: list[Person]
) -> LikesResult:
    base = competitions.url
    await wait_idle(competitions.pid, share=0.1, longest=20)  # e.g. closing part 1's sockets
    outages_before = outages_logged(competitions)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        entry = await submit(http, base, competition, author)
    url = f"{base}/competitions/{competition}/like/{entry}"
    go = asyncio.Event()
    # A client per liker, so a connection each: one pool shared by all would do work
    # quadratic in its connections, seconds of the CPU the instance is measured on. One TLS
    # context for all of them (none is used over http://): each would load the CA bundle.
    tls = httpx.create_ssl_context()
    clients = [httpx.AsyncClient(timeout=60, verify=tls) for _ in likers]
    tasks = [
        asyncio.create_task(like(http, url, liker, go))
        for http, liker in zip(clients, likers, strict=True)
    ]
    await asyncio.sleep(0.5)  # every task waits at the gate
    cpu = cpu_seconds(competitions.pid)
    began = time.perf_counter()
    go.set()
    likes = await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    server_cpu = cpu_seconds(competitions.pid) - cpu
    await asyncio.gather(*(http.aclose() for http in clients))
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
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


# --- report --------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def fanout_report(result: FanoutResult, size: int, idle_seconds: float) -> str:
    rounds = result.results
    lasts = [r.last for r in rounds]
    per_socket = [t for r in rounds for t in r.per_socket]
    lines = [f"== fan-out to {size} sockets (the instance with Redis)"]
    lines.append(
        f"sockets:        {result.sockets} open from {client_processes(size)} processes in "
        f"{result.connect_seconds:.1f} s ({result.connect_failures} failed)"
    )
    lines.append(
        f"memory:         VmRSS {result.rss_before_kib / 1024:.1f} MiB before, "
        f"{result.rss_open_kib / 1024:.1f} MiB with the sockets open and idle: "
        f"{result.kib_per_socket:.1f} KiB per socket "
        f"(target < 20: {verdict(result.kib_per_socket < 20)})"
    )
    lines.append(
        f"                after the rounds {result.rss_end_kib / 1024:.1f} MiB "
        f"(peak {result.hwm_end_kib / 1024:.1f} MiB)"
    )
    lines.append(
        f"idle CPU:       {result.idle_cpu_share:.1%} of a core with the sockets open "
        f"(over {idle_seconds:g} s, nothing sent)"
    )
    lines.append(f"rounds:         {len(rounds)} (after {len(result.warmup)} warm-up)")
    for r in result.warmup + rounds:
        tag = "warm-up" if r in result.warmup else ""
        lines.append(
            f"  reached {r.reached:>5}  first {r.first * 1000:7.1f} ms"
            f"  last {r.last * 1000:7.1f} ms"
            f"  created_at->last {r.created_to_last * 1000:7.1f} ms"
            f"  answer->created_at {r.answer_to_created * 1000:6.1f} ms"
            f"  POST {(r.round.answered - r.round.sent) * 1000:5.1f} ms"
            f"  CPU s: competitions {r.round.server_cpu:.2f} users {r.round.users_cpu:.2f}"
            f" postgres {r.round.postgres_cpu:.2f}"
            f"  {tag}".rstrip()
        )
    lines.append(
        f"last socket, from the POST's answer (ms):  {spread(lasts)}  "
        f"(target p99 < 1000: {verdict(percentile(lasts, 99) < 1)})"
    )
    lines.append(
        f"last socket, from created_at (ms):         {spread([r.created_to_last for r in rounds])}"
    )
    lines.append(f"first socket, from the POST's answer (ms): {spread([r.first for r in rounds])}")
    lines.append(f"every socket, from the POST's answer (ms): {spread(per_socket)}")
    incomplete = [r for r in rounds if r.round.last_seen is None or r.reached < result.sockets]
    lines.append(
        f"checks:         {len(incomplete)} incomplete round(s), {result.gaps} id gap(s), "
        f"{result.lost_sockets} socket(s) lost, {result.other_messages} other message(s)"
    )
    return "\n".join(lines)


def likes_report(result: LikesResult, count: int) -> str:
    seconds = [like.seconds for like in result.likes]
    retried = sum(like.attempts > 1 for like in result.likes)
    failed = sum(like.final_status != 200 for like in result.likes)
    first_statuses = sorted({like.first_status for like in result.likes})
    lines = [f"== likes: {count} likers at once, straight to the competitions instance"]
    lines.append(
        f"likes/s:        {count / result.wall_seconds:.0f} "
        f"({count} in {result.wall_seconds:.2f} s;"
        f" competitions CPU {result.server_cpu:.2f} s)"
    )
    lines.append(f"latency (ms):   {spread(seconds)}  (retries included)")
    lines.append(
        f"answers:        {retried} retried (first answers: {first_statuses}), {failed} failed"
    )
    if result.outages:
        lines.append(
            f'503s logged:    {result.outages} (the instance\'s "dependency unavailable" lines)'
        )
    lines.append(
        f"like count:     {result.like_count} (expected {count}: "
        f"{verdict(result.like_count == count)})"
    )
    lines.append(
        f"author's notices: {result.liked_notices} submission.liked (expected {count}: "
        f"{verdict(result.liked_notices == count)}), "
        f"ids 1..n in order: {result.notice_ids_in_order}"
    )
    return "\n".join(lines)


def fanout_summary(size: int, result: FanoutResult) -> dict[str, Any]:
    """One size's figures as the results file keeps them."""
    lasts = [r.last for r in result.results]
    firsts = [r.first for r in result.results]
    return {
        "sockets": size,
        "open": result.sockets,
        "connect_failures": result.connect_failures,
        "kib_per_socket": result.kib_per_socket,
        "idle_cpu_share": result.idle_cpu_share,
        "rounds": len(result.results),
        "last_p50_ms": percentile(lasts, 50) * 1000,
        "last_p99_ms": percentile(lasts, 99) * 1000,
        "first_p50_ms": percentile(firsts, 50) * 1000,
        "incomplete_rounds": sum(r.reached < result.sockets for r in result.results),
        "gaps": result.gaps,
        "lost_sockets": result.lost_sockets,
        "cpu_seconds_per_round": statistics.median(r.round.server_cpu for r in result.results)
        if result.results
        else None,
    }


def likes_summary(result: LikesResult, count: int) -> dict[str, Any]:
    seconds = [like.seconds for like in result.likes]
    return {
        "likers": count,
        "likes_per_second": count / result.wall_seconds,
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "retried": sum(like.attempts > 1 for like in result.likes),
        "failed": sum(like.final_status != 200 for like in result.likes),
        "like_count": result.like_count,
        "liked_notices": result.liked_notices,
        "notice_ids_in_order": result.notice_ids_in_order,
        "server_cpu_seconds": result.server_cpu,
    }


# --- the parts -----------------------------------------------------------------------------


@dataclass
class Seeded:
    """The platform of both parts: one competition per fan-out size, its subscribers,
    and writers who subscribe to nothing (one per round, and the hot entry's author)."""

    stack: Stack
    redis_url: str
    users: Service
    competitions: Service  # replaced by a fresh instance for each fan-out size
    contests: list[str]
    subscribers: list[Person]
    writers: list[Person]


@contextlib.contextmanager
def seeded(
    args: argparse.Namespace, cluster: PostgresCluster, redis_url: str, workdir: Path
) -> Iterator[Seeded]:
    """Discovery, users and one competitions instance on fresh databases, seeded;
    everything stops on the way out."""
    folder = workdir / "notifications"
    folder.mkdir()
    users_db = cluster.create_database("bench_fanout_users")
    competitions_db = cluster.create_database("bench_fanout_competitions")
    sizes = sorted(args.sockets)
    writers_count = args.warmup_rounds + args.fanout_rounds + 1
    settings = {
        "LITCOMP_USERS_DATABASE_URL": users_db,
        "LITCOMP_COMPETITIONS_DATABASE_URL": competitions_db,
        "LITCOMP_REDIS_PREFIX": "benchf",
    }
    with contextlib.ExitStack() as exits:
        stack = Stack(exits, folder, settings)
        stack.start_discovery()
        users = stack.add_replica("users")
        competitions = stack.add_replica("competitions", LITCOMP_REDIS_URL=redis_url)
        admin_email = create_admin(stack, "benchadmin")
        contests = asyncio.run(
            open_competitions(competitions.url, users.url, admin_email, len(sizes))
        )
        count = max([*sizes, args.likers])
        log("notifications: seeding %d users and %d writers", count, writers_count)
        subscribers = asyncio.run(insert_users(users_db, "s", count))
        writers = asyncio.run(insert_users(users_db, "w", writers_count))
        for size, contest in zip(sizes, contests, strict=True):
            asyncio.run(insert_subscriptions(users_db, subscribers[:size], contest))
        key_file = stack.var_dir / "jwt-signing-key.pem"
        yield Seeded(
            stack,
            redis_url,
            users,
            competitions,
            contests,
            mint_tokens(key_file, subscribers),
            mint_tokens(key_file, writers),
        )


def fan_out(args: argparse.Namespace, platform: Seeded) -> tuple[str, list[dict[str, Any]]]:
    """Each ``--sockets`` size in turn, on a fresh competitions instance after the first
    (the one that made the competitions): an instance that held sockets before keeps the
    memory they freed, which would make the next size look cheaper."""
    reports: list[str] = []
    rows: list[dict[str, Any]] = []
    for size, contest in zip(sorted(args.sockets), platform.contests, strict=True):
        if rows:
            platform.competitions.stop()
            platform.competitions = platform.stack.add_replica(
                "competitions", LITCOMP_REDIS_URL=platform.redis_url
            )
        log("fan-out: %d sockets", size)
        result = asyncio.run(
            run_fanout(
                args,
                size,
                platform.stack.workdir,
                platform.competitions,
                platform.users.pid,
                contest,
                platform.subscribers,
                platform.writers[:-1],
            )
        )
        reports.append(fanout_report(result, size, args.idle_seconds))
        rows.append(fanout_summary(size, result))
    return "\n\n".join(reports), rows


def likes(args: argparse.Namespace, platform: Seeded) -> tuple[str, dict[str, Any]]:
    """The last writer's entry, in the last fan-out competition, liked by ``--likers``."""
    log("likes: %d likers", args.likers)
    result = asyncio.run(
        run_likes(
            platform.competitions,
            platform.contests[-1],
            platform.writers[-1],
            platform.subscribers[: args.likers],
        )
    )
    return likes_report(result, args.likers), likes_summary(result, args.likers)
