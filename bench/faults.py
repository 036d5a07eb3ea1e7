"""`make faults`: the platform under steady mixed load through each fault, with its figures.

Usage::

    .venv/bin/python -m bench.faults                      # every scenario, ~4 minutes
    .venv/bin/python -m bench.faults --scenarios kill,redis --hold 5 --after 5

Method
------
One platform on 127.0.0.1, started and stopped by this run: two private
PostgreSQL clusters (one per service, made with ``initdb`` in temporary directories,
on free ports), a private ``redis-server`` that every service uses (the production
shape: discovery state, rate limits, cache, wake-ups), discovery, the gateway, one
users and three competitions replicas (``litcomp serve``; production settings but
for the gateway's general rate limit, raised because all the load comes from one
address; the login limit stays at its default).

Each scenario gets its own people and load, through the gateway:

- readers: GET /competitions (cached) and GET of an entry with its comments (database),
  each reader pausing ``--pause`` seconds between requests;
- keyed writers: comments, each with a unique text and an ``Idempotency-Key``; an
  unacknowledged comment is sent again with the same key until it is acknowledged
  (201) or ``--write-deadline`` passes;
- listeners: the entries' authors, each on a notification WebSocket through the
  gateway; a socket that closes reconnects at once with ``?after=<last id seen>``.

Timeline: ``--before`` seconds of load, the fault, ``--hold`` seconds, the repair,
``--after`` seconds, then the load stops, open writes finish, and the listeners get
up to 20 s to receive what is due. Figures per scenario:

- requests ok / failed: every HTTP attempt the clients made (retries included);
- breaker opened: seconds from the fault to the victim's breaker leaving "closed" in
  the gateway's /gateway/status (polled every 0.1 s); victim's last request: to the
  last moment its ``requests`` counter grew before that and before the repair; last
  failure: to the start of the last request that failed or took over 1 s;
- traffic shifted: to the start of the last open-loop probe (a GET /competitions
  every ``--probe-every`` seconds, sent whatever the answers: the other clients wait
  for theirs, so a hung replica can hold them all and hide that new requests still
  go to it) that failed or took over 1 s;
- writes: acknowledged, lost (acknowledged but not in the competitions database),
  duplicated (one text stored more than once), not acknowledged by the deadline;
- notifications: lost (a row in the database that its listener never received),
  duplicated or out of order (ids are per user, 1, 2, 3...), and acknowledged comments
  with no notification row.

Targets (issue 7): >= 99.9 % ok when one of 3 replicas dies, 0 acknowledged writes
lost or duplicated, 0 notifications lost, traffic shifted within 2 s.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import websockets

from bench.measure import log
from bench.people import Person, create_admin, log_in, open_competition, sign_up
from bench.stack import PostgresCluster, RedisServer, Stack, install_hint, missing_tools

SLOW_SECONDS = 1.0
REQUEST_SECONDS = 15  # the load's timeout, of a request or a socket's handshake
RESULTS = Path(__file__).with_name("results")
SCENARIOS = ("kill", "freeze", "redis", "postgres", "discovery", "gateway", "login")
DESCRIPTIONS = {
    "kill": "kill -9 one of 3 competitions replicas (a new one is started after --hold)",
    "freeze": "SIGSTOP one of 3 competitions replicas, SIGCONT after --hold",
    "redis": "stop Redis, start it again after --hold",
    "postgres": "stop the competitions PostgreSQL (fast shutdown), start it after --hold",
    "discovery": "restart discovery (stop, start at once)",
    "gateway": "restart the gateway (stop, start at once)",
    "login": "a client flood on /users/login (one address) while the load runs",
}


# --- the platform --------------------------------------------------------------------------------


class Deployment(Protocol):
    """What the scenarios need of the platform: processes here, or Compose (faults_compose)."""

    scenarios: dict[str, str]  # name -> description: the faults it can inject

    @property
    def gateway(self) -> str: ...  # the gateway's URL

    @property
    def users_url(self) -> str: ...  # a users instance: people sign up there, not past the limit

    @property
    def competitions_url(self) -> str: ...  # the competitions database, for the checks

    def create_admin(self, name: str) -> str: ...  # the admin's email

    async def inject(
        self, name: str, args: argparse.Namespace, outcome: "Outcome", http: httpx.AsyncClient
    ) -> str | None: ...  # break, repair after --hold; the victim's instance id if one

    def settle(self) -> None: ...  # every instance routed to, its breaker closed


@dataclass
class Platform:
    stack: Stack
    users_db: PostgresCluster
    competitions_db: PostgresCluster
    redis: RedisServer
    competitions_url: str  # the database's URL, for the checks
    scenarios: dict[str, str] = field(default_factory=lambda: DESCRIPTIONS)

    @property
    def gateway(self) -> str:
        return self.stack.url

    @property
    def users_url(self) -> str:
        return self.stack.running("users")[0].url

    def create_admin(self, name: str) -> str:
        return create_admin(self.stack, name)

    async def inject(
        self, name: str, args: argparse.Namespace, outcome: "Outcome", http: httpx.AsyncClient
    ) -> str | None:
        return await inject(name, self, args, outcome, http)

    def settle(self) -> None:
        self.stack.wait_settled(90, nudge=True)


@contextlib.contextmanager
def platform_running(args: argparse.Namespace, workdir: Path) -> Iterator[Platform]:
    missing = missing_tools("postgres", "redis-server")
    if missing:
        raise SystemExit(install_hint(missing))
    replicas, log_level, extra = args.replicas, args.log_level, gateway_settings(args)
    with contextlib.ExitStack() as stack:
        log("starting PostgreSQL (two private clusters) and Redis")
        users_db = PostgresCluster("users", stack)
        competitions_db = PostgresCluster("competitions", stack)
        users_db.start()
        competitions_db.start()
        redis = RedisServer(stack, workdir)
        redis.start()
        competitions_url = competitions_db.create_database("litcomp_competitions")
        settings = {
            "LITCOMP_USERS_DATABASE_URL": users_db.create_database("litcomp_users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": competitions_url,
            "LITCOMP_REDIS_URL": redis.url,
            "LITCOMP_REDIS_PREFIX": f"faults{secrets.token_hex(3)}",
            "LITCOMP_LOG_LEVEL": log_level,
            **extra,
        }
        platform_ = Platform(
            Stack(stack, workdir, settings), users_db, competitions_db, redis, competitions_url
        )
        log("starting discovery, users, %d competitions replicas, the gateway", replicas)
        platform_.stack.start_discovery()
        platform_.stack.add_replicas({"users": 1, "competitions": replicas})
        platform_.stack.start_gateway()
        yield platform_
        log("stopping everything")


@dataclass
class Cast:
    """One scenario's people: an open competition, its entries' authors, the commenters."""

    competition: str
    listeners: list[Person]
    entries: list[str]  # entries[i] is listeners[i]'s
    writers: list[Person]


async def cast(platform_: Deployment, admin_email: str, tag: str, args: argparse.Namespace) -> Cast:
    users_url, gateway = platform_.users_url, platform_.gateway
    async with httpx.AsyncClient(timeout=30) as http:
        admin = await log_in(http, users_url, admin_email)
        body = open_competition(f"Faults: {tag}", "Stories written while things break.", days=1)
        competition = str(
            (await expect(http, "POST", f"{gateway}/competitions", admin, body, 201))[
                "competition_id"
            ]
        )
        names = [f"{tag}-l{n}-{secrets.token_hex(3)}" for n in range(args.listeners)]
        names += [f"{tag}-w{n}-{secrets.token_hex(3)}" for n in range(args.writers)]
        # At once: the users instance hashes as many passwords at a time as it has cores.
        people = await asyncio.gather(*(sign_up(http, users_url, name) for name in names))
        listeners, writers = people[: args.listeners], people[args.listeners :]
        url = f"{gateway}/competitions/{competition}/submit"
        submitted = await asyncio.gather(
            *(
                expect(
                    http,
                    "POST",
                    url,
                    author,
                    {"title": f"Entry by {author.email}", "content": "Comment on me."},
                    201,
                )
                for author in listeners
            )
        )
    return Cast(competition, listeners, [str(e["submission_id"]) for e in submitted], writers)


async def expect(
    http: httpx.AsyncClient, method: str, url: str, who: Person, body: Any, status: int
) -> Any:
    for attempt in range(20):
        response = await http.request(method, url, json=body, headers=who.auth)
        if response.status_code == status:
            return response.json()
        await asyncio.sleep(0.2 * (attempt + 1))
    raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")


# --- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    kind: str  # list (GET /competitions), entry (GET an entry), write, probe (open loop)
    began: float  # time.monotonic()
    seconds: float
    status: int  # 0: no HTTP answer


@dataclass
class Tally:
    attempts: list[Attempt] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # comment text -> id
    unacknowledged: list[str] = field(default_factory=list)  # texts given up on
    received: dict[str, list[int]] = field(default_factory=dict)  # user id -> ids, in order
    reconnects: int = 0
    socket_failures: int = 0  # handshakes that failed (then retried)

    def ok(self, kinds: tuple[str, ...]) -> tuple[int, int]:
        mine = [a for a in self.attempts if a.kind in kinds]
        good = sum(200 <= a.status < 300 for a in mine)
        return good, len(mine) - good


async def timed(
    tally: Tally, kind: str, request: Callable[[], Awaitable[tuple[int, Any]]]
) -> tuple[int, Any]:
    began = time.monotonic()
    try:
        status, body = await request()
    except httpx.HTTPError:
        status, body = 0, None
    tally.attempts.append(Attempt(kind, began, time.monotonic() - began, status))
    return status, body


async def reader(
    http: httpx.AsyncClient,
    gateway: str,
    cast_: Cast,
    n: int,
    tally: Tally,
    stop: asyncio.Event,
    pause: float,
) -> None:
    urls = [f"{gateway}/competitions"] + [
        f"{gateway}/competitions/{cast_.competition}/submissions/{entry}" for entry in cast_.entries
    ]
    turn = n
    while not stop.is_set():
        url = urls[turn % len(urls)]
        kind = "list" if turn % len(urls) == 0 else "entry"
        turn += 1

        async def get(url: str = url) -> tuple[int, Any]:
            return (await http.get(url)).status_code, None

        await timed(tally, kind, get)
        await asyncio.sleep(pause)


async def writer(
    http: httpx.AsyncClient,
    gateway: str,
    cast_: Cast,
    n: int,
    tag: str,
    tally: Tally,
    stop: asyncio.Event,
    pause: float,
    deadline: float,
) -> None:
    who = cast_.writers[n]
    entry = cast_.entries[n % len(cast_.entries)]
    url = f"{gateway}/competitions/{cast_.competition}/comment/{entry}"
    sequence = 0
    while not stop.is_set():
        text = f"{tag}/{n}/{sequence}"
        sequence += 1
        headers = {**who.auth, "Idempotency-Key": uuid.uuid4().hex}

        async def post(text: str = text, headers: dict[str, str] = headers) -> tuple[int, Any]:
            response = await http.post(url, json={"content": text}, headers=headers)
            return response.status_code, response.json() if response.status_code == 201 else None

        give_up = time.monotonic() + deadline
        backoff = 0.1
        while True:
            status, body = await timed(tally, "write", post)
            if status == 201:
                tally.acknowledged[text] = str(body["comment_id"])
                break
            if time.monotonic() > give_up:
                tally.unacknowledged.append(text)
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
        await asyncio.sleep(pause)


async def listener(
    gateway: str,
    who: Person,
    tally: Tally,
    stop: asyncio.Event,
    opened: asyncio.Event,
) -> None:
    """Hold a notification socket through the gateway; on any close, resume from the last id.
    ``opened`` is set once the first socket is open."""
    ids = tally.received.setdefault(who.user_id, [])
    ws_url = gateway.replace("http://", "ws://") + "/ws"
    first = True
    while not stop.is_set():
        after = ids[-1] if ids else 0
        try:
            async with websockets.connect(
                f"{ws_url}?after={after}",
                additional_headers=who.auth,
                open_timeout=REQUEST_SECONDS,
                ping_interval=None,  # the server pings; the library answers
            ) as socket:
                opened.set()
                if not first:
                    tally.reconnects += 1
                first = False
                stopping = asyncio.ensure_future(stop.wait())
                while True:
                    receiving = asyncio.ensure_future(socket.recv())
                    done, _ = await asyncio.wait(
                        {receiving, stopping}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if receiving not in done:
                        receiving.cancel()
                        return
                    try:
                        data = receiving.result()
                    except websockets.ConnectionClosed:
                        break
                    if isinstance(data, bytes):  # a binary frame: notices are text
                        break
                    message = json.loads(data)
                    if "id" in message:
                        ids.append(int(message["id"]))
                stopping.cancel()
        except (websockets.InvalidHandshake, TimeoutError, OSError):
            tally.socket_failures += 1
        await asyncio.sleep(0.2)


async def prober(
    http: httpx.AsyncClient, gateway: str, tally: Tally, stop: asyncio.Event, every: float
) -> None:
    """Open-loop reads: one GET /competitions every ``every`` seconds, whatever the answers.

    The other clients wait for each answer, so a hung instance can hold all of them
    at once and hide how long new requests keep going to it; probes keep arriving.
    """
    pending: set[asyncio.Task[tuple[int, Any]]] = set()

    async def get() -> tuple[int, Any]:
        return (await http.get(f"{gateway}/competitions")).status_code, None

    while not stop.is_set():
        task = asyncio.create_task(timed(tally, "probe", get))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(every)
    await asyncio.gather(*pending)


# --- watching the gateway ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    instances: dict[str, tuple[str, int]]  # service/instance id -> (breaker, requests)


async def watch_gateway(
    http: httpx.AsyncClient, gateway: str, samples: list[Sample], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        with contextlib.suppress(httpx.HTTPError, ValueError):
            status = (await http.get(f"{gateway}/gateway/status")).json()
            samples.append(
                Sample(
                    time.monotonic(),
                    {
                        f"{service}/{i['instance_id']}": (i["breaker"], int(i["requests"]))
                        for service, each in status["services"].items()
                        for i in each
                    },
                )
            )
        await asyncio.sleep(0.1)


def breaker_figures(
    samples: list[Sample], victim: str, fault_at: float, repaired_at: float = float("inf")
) -> tuple[float | None, float | None]:
    """Seconds from the fault to the victim's breaker opening, and to its last request before
    that and before the repair (what a repaired replica gets is no longer the fault's)."""
    opened = None
    last_sent = None
    watched_to_repair = False
    previous: int | None = None
    for sample in samples:
        state = sample.instances.get(victim)
        if sample.at < fault_at:
            previous = state[1] if state else previous
            continue
        if state is None or state[0] != "closed":
            opened = sample.at - fault_at
            break
        if sample.at > repaired_at:
            watched_to_repair = True
        elif previous is not None and state[1] > previous:
            last_sent = sample.at - fault_at
        previous = state[1]
    if (opened is not None or watched_to_repair) and last_sent is None:
        last_sent = 0.0
    return opened, last_sent


# --- a scenario ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: str
    description: str
    seconds: float
    reads_ok: int = 0
    reads_failed: int = 0
    writes_ok: int = 0  # attempts
    writes_failed: int = 0
    ok_share: float = 0.0
    failures_by_status: dict[str, int] = field(default_factory=dict)
    breaker_opened_s: float | None = None
    repaired_s: float | None = None  # from the fault to the end of the repair
    victim_last_request_s: float | None = None
    last_failure_s: float | None = None  # start of the last failed or slow request, from the fault
    traffic_shifted_s: float | None = None  # start of the last failed or slow probe, from the fault
    slow_after_fault: int = 0  # requests sent after the fault that took over SLOW_SECONDS
    breakers_opened: list[str] = field(default_factory=list)  # service/instance, at any time
    acknowledged: int = 0
    unacknowledged: int = 0
    writes_lost: int = 0
    writes_duplicated: int = 0
    notifications_expected: int = 0
    notifications_lost: int = 0
    notifications_duplicated: int = 0
    notifications_out_of_order: int = 0
    comments_without_notice: int = 0
    socket_reconnects: int = 0
    socket_handshake_failures: int = 0
    logins: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


async def run_scenario(
    name: str, platform_: Deployment, admin_email: str, args: argparse.Namespace, run_tag: str
) -> Outcome:
    tag = f"{run_tag}-{name}"  # the checks find the scenario's comments by it
    cast_ = await cast(platform_, admin_email, tag, args)
    tally = Tally()
    samples: list[Sample] = []
    stop_load, stop_sockets = asyncio.Event(), asyncio.Event()
    gateway = platform_.gateway
    # Open-loop probes pile up while a replica hangs: none may wait for a free connection.
    unlimited = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    outcome = Outcome(name, platform_.scenarios[name], 0.0)
    async with httpx.AsyncClient(timeout=REQUEST_SECONDS, limits=unlimited) as http:
        opened = [asyncio.Event() for _ in cast_.listeners]
        sockets = [
            asyncio.create_task(listener(gateway, p, tally, stop_sockets, o))
            for p, o in zip(cast_.listeners, opened, strict=True)
        ]
        # The sockets are open before the first comment (so it is heard live, not caught
        # up on); a busy machine opens them late.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 10)
        watcher = asyncio.create_task(watch_gateway(http, gateway, samples, stop_load))
        load = [asyncio.create_task(prober(http, gateway, tally, stop_load, args.probe_every))]
        load += [
            asyncio.create_task(reader(http, gateway, cast_, n, tally, stop_load, args.pause))
            for n in range(args.readers)
        ]
        load += [
            asyncio.create_task(
                writer(
                    http, gateway, cast_, n, tag, tally, stop_load, args.pause, args.write_deadline
                )
            )
            for n in range(args.writers)
        ]
        began = time.monotonic()
        await asyncio.sleep(args.before)
        fault_at = time.monotonic()
        victim = await platform_.inject(name, args, outcome, http)
        outcome.repaired_s = time.monotonic() - fault_at
        log("%s: repaired %.1f s after the fault", name, outcome.repaired_s)
        await asyncio.sleep(args.after)
        stop_load.set()
        await asyncio.gather(*load, watcher)
        outcome.seconds = time.monotonic() - began
        log("%s: load stopped; checking", name)
        await settle(platform_, cast_, tally)
        stop_sockets.set()
        await asyncio.gather(*sockets)
    await check(platform_, cast_, tag, tally, outcome)
    figures(outcome, tally, samples, victim, fault_at)
    return outcome


async def inject(
    name: str,
    platform_: Platform,
    args: argparse.Namespace,
    outcome: Outcome,
    http: httpx.AsyncClient,
) -> str | None:
    """Break something (and repair it after ``--hold``); the victim's instance id if one."""
    stack = platform_.stack
    if name in ("kill", "freeze"):
        victim = stack.running("competitions")[-1]
        log("%s: %s %s", name, "SIGKILL" if name == "kill" else "SIGSTOP", victim.instance_id)
        if name == "kill":
            victim.kill()
        else:
            victim.signal(signal.SIGSTOP)
        await asyncio.sleep(args.hold)
        if name == "kill":
            await asyncio.to_thread(stack.add_replica, "competitions")
        else:
            victim.signal(signal.SIGCONT)
        return victim.instance_id
    if name == "redis":
        await asyncio.to_thread(platform_.redis.stop)
        await asyncio.sleep(args.hold)
        await asyncio.to_thread(platform_.redis.start)
    elif name == "postgres":
        await asyncio.to_thread(platform_.competitions_db.stop)
        await asyncio.sleep(args.hold)
        await asyncio.to_thread(platform_.competitions_db.start)
    elif name in ("discovery", "gateway"):
        process = stack.discovery if name == "discovery" else stack.gateway
        assert process is not None
        began = time.monotonic()
        await asyncio.to_thread(process.stop)
        stopped = time.monotonic()
        await asyncio.to_thread(
            stack.start_discovery if name == "discovery" else stack.start_gateway
        )
        outcome.notes.append(
            f"{name} took {stopped - began:.1f} s to stop and {time.monotonic() - stopped:.1f} s "
            "to start and be ready"
        )
    elif name == "login":
        outcome.logins = await login_flood(http, stack.url, args.flood)
    return None


async def login_flood(http: httpx.AsyncClient, gateway: str, count: int) -> dict[str, int]:
    """``count`` logins (wrong passwords, so no user is helped by them), 50 at a time."""
    statuses: dict[str, int] = {}
    retry_after = 0
    gate = asyncio.Semaphore(50)

    async def one() -> None:
        nonlocal retry_after
        async with gate:
            body = {"email": f"nobody-{secrets.token_hex(4)}@faults.example", "password": "not it"}
            try:
                response = await http.post(f"{gateway}/users/login", json=body)
                key = str(response.status_code)
                retry_after += response.status_code == 429 and "Retry-After" in response.headers
            except httpx.HTTPError:
                key = "no answer"
            statuses[key] = statuses.get(key, 0) + 1

    await asyncio.gather(*(one() for _ in range(count)))
    statuses["429 with Retry-After"] = retry_after
    return statuses


async def settle(platform_: Deployment, cast_: Cast, tally: Tally, within: float = 20) -> None:
    """Until every listener has every notice the database holds for it, or ``within`` passes."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        expected = await notices(platform_.competitions_url, cast_)
        if all(
            set(expected[p.user_id]) <= set(tally.received.get(p.user_id, []))
            for p in cast_.listeners
        ):
            return
        await asyncio.sleep(0.1)


async def notices(database: str, cast_: Cast) -> dict[str, list[int]]:
    connection = await connect(database)
    try:
        rows = await connection.fetch(
            "SELECT user_id::text AS user_id, seq FROM notifications"
            " WHERE user_id = ANY($1::uuid[])",
            [p.user_id for p in cast_.listeners],
        )
    finally:
        await connection.close()
    found: dict[str, list[int]] = {p.user_id: [] for p in cast_.listeners}
    for row in rows:
        found[row["user_id"]].append(int(row["seq"]))
    return found


async def connect(database: str) -> Any:
    for _ in range(60):  # the database may be coming back
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            return await asyncpg.connect(database)
        await asyncio.sleep(0.5)
    return await asyncpg.connect(database)


async def check(
    platform_: Deployment, cast_: Cast, tag: str, tally: Tally, outcome: Outcome
) -> None:
    """Acknowledged writes and notifications against the competitions database."""
    connection = await connect(platform_.competitions_url)
    try:
        stored = await connection.fetch(
            "SELECT content, array_agg(id::text) AS ids FROM comments"
            " WHERE content LIKE $1 GROUP BY content",
            f"{tag}/%",
        )
        notified = await connection.fetch(
            "SELECT data->>'comment_id' AS comment_id FROM notifications "
            "WHERE user_id = ANY($1::uuid[]) AND type = 'comment.created'",
            [p.user_id for p in cast_.listeners],
        )
    finally:
        await connection.close()
    by_text = {row["content"]: list(row["ids"]) for row in stored}
    outcome.acknowledged = len(tally.acknowledged)
    outcome.unacknowledged = len(tally.unacknowledged)
    outcome.writes_lost = sum(
        comment_id not in by_text.get(text, []) for text, comment_id in tally.acknowledged.items()
    )
    outcome.writes_duplicated = sum(len(ids) - 1 for ids in by_text.values())
    notified_ids = {row["comment_id"] for row in notified}
    outcome.comments_without_notice = sum(
        comment_id not in notified_ids for comment_id in tally.acknowledged.values()
    )
    expected = await notices(platform_.competitions_url, cast_)
    for person in cast_.listeners:
        got = tally.received.get(person.user_id, [])
        due = expected[person.user_id]
        outcome.notifications_expected += len(due)
        outcome.notifications_lost += len(set(due) - set(got))
        outcome.notifications_duplicated += len(got) - len(set(got))
        outcome.notifications_out_of_order += sum(b <= a for a, b in itertools.pairwise(got))
    outcome.socket_reconnects = tally.reconnects
    outcome.socket_handshake_failures = tally.socket_failures


def figures(
    outcome: Outcome, tally: Tally, samples: list[Sample], victim: str | None, fault_at: float
) -> None:
    outcome.reads_ok, outcome.reads_failed = tally.ok(("list", "entry", "probe"))
    outcome.writes_ok, outcome.writes_failed = tally.ok(("write",))
    total = outcome.reads_ok + outcome.reads_failed + outcome.writes_ok + outcome.writes_failed
    outcome.ok_share = (outcome.reads_ok + outcome.writes_ok) / max(total, 1)
    for attempt in tally.attempts:
        if not 200 <= attempt.status < 300:
            key = f"{attempt.kind} {attempt.status or 'no answer'}"
            outcome.failures_by_status[key] = outcome.failures_by_status.get(key, 0) + 1
    after = [a for a in tally.attempts if a.began >= fault_at]
    outcome.slow_after_fault = sum(a.seconds > SLOW_SECONDS for a in after)
    bad = [
        a.began - fault_at for a in after if not 200 <= a.status < 300 or a.seconds > SLOW_SECONDS
    ]
    outcome.last_failure_s = max(bad, default=None)
    probes = [
        a.began - fault_at
        for a in after
        if a.kind == "probe" and (not 200 <= a.status < 300 or a.seconds > SLOW_SECONDS)
    ]
    outcome.traffic_shifted_s = max(probes, default=None)
    outcome.breakers_opened = sorted(
        {
            key
            for sample in samples
            for key, (state, _) in sample.instances.items()
            if state != "closed"
        }
    )
    if victim:
        repaired = outcome.repaired_s
        repaired_at = float("inf") if repaired is None else fault_at + repaired
        opened, shifted = breaker_figures(samples, f"competitions/{victim}", fault_at, repaired_at)
        outcome.breaker_opened_s, outcome.victim_last_request_s = opened, shifted


# --- report --------------------------------------------------------------------------------------


def verdicts(outcome: Outcome) -> list[str]:
    """The issue's targets, where they apply to this scenario."""
    lines = []
    if outcome.scenario == "kill":
        lines.append(target("ok >= 99.9 %", outcome.ok_share >= 0.999))
    if outcome.scenario in ("kill", "freeze", "pause", "partition"):  # a replica gone
        shifted = outcome.traffic_shifted_s or 0.0
        lines.append(target("traffic shifted <= 2 s", shifted is not None and shifted <= 2))
    lines.append(target("0 writes lost", outcome.writes_lost == 0))
    lines.append(target("0 writes duplicated", outcome.writes_duplicated == 0))
    lines.append(target("0 notifications lost", outcome.notifications_lost == 0))
    return lines


def target(text: str, met: bool) -> str:
    return f"{text}: {'met' if met else 'MISSED'}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def report(outcome: Outcome) -> str:
    failures = (
        ", ".join(f"{k}: {v}" for k, v in sorted(outcome.failures_by_status.items())) or "none"
    )
    lines = [
        f"== {outcome.scenario}: {outcome.description}",
        f"requests:      {outcome.reads_ok + outcome.writes_ok} ok, "
        f"{outcome.reads_failed + outcome.writes_failed} failed ({outcome.ok_share:.3%} ok) over "
        f"{outcome.seconds:.0f} s; reads {outcome.reads_ok}/{outcome.reads_failed}, "
        f"write attempts {outcome.writes_ok}/{outcome.writes_failed} (ok/failed); "
        f"failures by status: {failures}",
        f"repaired:      {seconds(outcome.repaired_s)} after the fault",
        f"breaker:       opened {seconds(outcome.breaker_opened_s)} after the fault, "
        f"victim's last request {seconds(outcome.victim_last_request_s)}; "
        "last failed or >1 s request started "
        f"{seconds(outcome.last_failure_s)} after the fault; "
        f"{outcome.slow_after_fault} took over 1 s; the last failed or >1 s probe started "
        f"{seconds(outcome.traffic_shifted_s)} after the fault",
        f"breakers:      left closed at some time: {', '.join(outcome.breakers_opened) or 'none'}",
        f"writes:        {outcome.acknowledged} acknowledged, {outcome.writes_lost} lost, "
        f"{outcome.writes_duplicated} duplicated, "
        f"{outcome.unacknowledged} not acknowledged in time",
        f"notifications: {outcome.notifications_expected} due, {outcome.notifications_lost} lost, "
        f"{outcome.notifications_duplicated} duplicated, "
        f"{outcome.notifications_out_of_order} out of order, "
        f"{outcome.comments_without_notice} acknowledged comments without one; "
        f"{outcome.socket_reconnects} reconnects, "
        f"{outcome.socket_handshake_failures} failed handshakes",
    ]
    if outcome.logins:
        lines.append(f"login flood:   {outcome.logins}")
    lines += [f"note:          {note}" for note in outcome.notes]
    if outcome.seconds:
        lines.append("targets:       " + "; ".join(verdicts(outcome)))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cpus": os.cpu_count(),
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


# --- main ----------------------------------------------------------------------------------------


def parse_args(
    argv: list[str] | None = None, scenarios: dict[str, str] = DESCRIPTIONS, doc: str = ""
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    names = ",".join(scenarios)
    parser.add_argument("--scenarios", default=names, help=f"comma-separated: {names}")
    parser.add_argument(
        "--replicas", type=int, default=3, help="competitions replicas (processes only)"
    )
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--listeners", type=int, default=4)
    parser.add_argument(
        "--pause", type=float, default=0.05, help="seconds each client waits between requests"
    )
    parser.add_argument(
        "--probe-every", type=float, default=0.05, help="seconds between open-loop probes"
    )
    parser.add_argument("--before", type=float, default=5, help="seconds of load before the fault")
    parser.add_argument("--hold", type=float, default=8, help="seconds the fault lasts")
    parser.add_argument("--after", type=float, default=10, help="seconds of load after the repair")
    parser.add_argument(
        "--write-deadline", type=float, default=60, help="seconds a write is retried"
    )
    parser.add_argument("--flood", type=int, default=500, help="logins in the login flood")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the results file goes")
    parser.add_argument(
        "--balancer",
        choices=("round_robin", "least_load"),
        help="the gateway's LITCOMP_GATEWAY_BALANCER (processes only; default: the platform's)",
    )
    parser.add_argument("--log-level", default="WARNING", help="of every litcomp process")
    parser.add_argument("--workdir", type=Path, help="keep the processes' logs here")
    parser.add_argument(
        "--time-limit", type=int, default=1200, help="seconds, then clean up and stop"
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(scenarios)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def stop_on(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


Start = Callable[[argparse.Namespace, Path], AbstractContextManager[Deployment]]


def main(
    argv: list[str] | None = None,
    *,
    handle_signals: bool = True,
    start: Start = platform_running,
    scenarios: dict[str, str] = DESCRIPTIONS,
    name: str = "faults",
    doc: str = "",
) -> list[Outcome]:
    """Run the scenarios on what ``start`` starts (processes here by default; faults_compose
    passes Compose); ``handle_signals``: TERM and ``--time-limit`` stop the run cleanly
    (off when a caller, such as pytest, owns the signals). ``name`` starts the results'
    file names."""
    args = parse_args(argv, scenarios, doc)
    handle_signals = handle_signals and threading_main()
    if handle_signals:
        signal.signal(signal.SIGTERM, stop_on)
        signal.signal(signal.SIGALRM, stop_on)
        signal.alarm(args.time_limit)
    facts = machine()
    outcomes: list[Outcome] = []
    unsettled: BaseException | None = None
    run_tag = secrets.token_hex(3)
    try:
        with workdir(args.workdir) as temp, start(args, temp) as platform_:
            admin_email = platform_.create_admin(f"admin{run_tag}")
            for n, scenario in enumerate(args.scenarios.split(",")):
                log("%s: %s", scenario, scenarios[scenario])
                tag = f"{run_tag}{n}"  # unique even when a scenario is repeated
                try:
                    outcome = asyncio.run(run_scenario(scenario, platform_, admin_email, args, tag))
                except (Exception, SystemExit) as exc:  # reported, then the run stops
                    outcome = Outcome(scenario, scenarios[scenario], 0.0)
                    outcome.notes.append(f"the scenario could not finish: {exc}")
                    outcomes.append(outcome)
                    print(report(outcome) + "\n", flush=True)
                    break
                print(report(outcome) + "\n", flush=True)
                outcomes.append(outcome)
                try:
                    platform_.settle()
                except (Exception, SystemExit) as exc:  # noted and written, then raised
                    outcome.notes.append(f"the platform did not settle after it: {exc}")
                    log("%s: the platform did not settle: %s", scenario, exc)
                    unsettled = exc
                    break
    finally:
        if handle_signals:
            signal.alarm(0)
    facts["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    write_results(args.output, name, facts, args, outcomes)
    if unsettled is not None:
        raise unsettled
    return outcomes


def gateway_settings(args: argparse.Namespace) -> dict[str, str]:
    return {"LITCOMP_GATEWAY_BALANCER": args.balancer} if args.balancer else {}


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """Where the processes' logs go: a temporary directory, or ``keep`` (kept)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="litcomp-faults-") as temp:
        yield Path(temp)


def threading_main() -> bool:
    return threading.current_thread() is threading.main_thread()


def write_results(
    folder: Path,
    name: str,
    facts: dict[str, Any],
    args: argparse.Namespace,
    outcomes: list[Outcome],
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{name}-{stamp}.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    path.write_text(
        json.dumps(
            {"machine": facts, "settings": settings, "scenarios": [asdict(o) for o in outcomes]},
            indent=2,
        )
        + "\n"
    )
    (folder / f"{name}-{stamp}.txt").write_text(
        "\n".join(f"{k}: {v}" for k, v in facts.items())
        + "\n\n"
        + "\n\n".join(report(o) for o in outcomes)
        + "\n"
    )
    log("results: %s (and .txt)", path)
    return path


if __name__ == "__main__":
    main()
