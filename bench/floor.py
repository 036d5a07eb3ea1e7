"""The ``floor`` part of `make bench`: what a competitions replica spends per request
against its framework's floor, side by side in one run, and what each write costs.

- The floor is bench/floor_app.py: FastAPI on the same uvicorn, answering each measured
  path with the bytes the replica answered it with. A route's ratio is the replica's CPU
  per request over the floor's for the same path.
- Reads go straight to a replica (no gateway), ``wrk -t1 -c32``, on PostgreSQL: the
  competitions list and one competition from a replica with the Redis cache and from
  one without it, a page of entries, an entry with its comments (anonymous and signed
  in: a signed-in read is also noted for the reading queue).
- Writes (a submit of ~1,000 words, a comment, a like and its removal in turn), ``-c8``:
  the replicas' CPU per request and the database statements per request, counted by
  PostgreSQL (pg_stat_statements, BEGIN and COMMIT included: each is a round trip),
  the notification rows and the fan-out they cause included: the fan-out jobs a run
  leaves are waited for, and done by either replica's worker, so both replicas' CPU
  counts until they are (before, a submit's unfinished jobs were counted in the comments
  measured after it).
- With ``--profile``, py-spy samples the replica through a second run of each route,
  and bench/where.py sorts the samples into the layers they were spent in.
"""

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis import Redis

from bench import where
from bench.http_load import ENTRIES_PER_WRITER, STORY, http_stack, post, rotation
from bench.measure import WrkRun, cpu_seconds, log, point, run_wrk, warm_up
from bench.people import Person, create_admin, log_in, open_competition, open_competitions, sign_up
from bench.stack import HOST, PostgresCluster, RedisServer, Service, Stack, start, wait_until
from litcomp.launcher import free_port

READ_CONNECTIONS = 32
WRITE_CONNECTIONS = 8
LISTED = 20  # open competitions in the list read
COMMENTS = 20  # on the entry read
# Issue 18's targets, as ratios to the floor (reads) and CPU per write.
CACHED_TARGET = 2.0
UNCACHED_TARGET = 3.0
WRITE_TARGET_US = 1500
FANOUT_DEADLINE = 60.0  # seconds a write route's fan-out jobs are waited for


@dataclass
class Scene:
    competition: str
    entries: list[str]
    writers: list[Person]  # writer i wrote entries[i]


@dataclass(frozen=True)
class Route:
    name: str
    kind: str  # "cached", "uncached" (reads) or "write"
    replica: Service
    path: str
    script: Path | None = None  # a wrk script (headers, bodies, methods)
    connections: int = READ_CONNECTIONS


async def set_scene(stack: Stack, url: str, writers: int) -> Scene:
    """``LISTED`` open competitions, one taking ``writers`` entries of ~1,000 words, and
    ``COMMENTS`` comments on the first entry."""
    users_url = stack.running("users")[0].url
    admin_email = await asyncio.to_thread(create_admin, stack, "flooradmin")
    await open_competitions(url, users_url, admin_email, LISTED - 1)
    async with httpx.AsyncClient(timeout=60) as http:
        people = await asyncio.gather(
            *(sign_up(http, users_url, f"floor{n}") for n in range(writers))
        )
        admin = await log_in(http, users_url, admin_email)
        body = {
            **open_competition("The floor", "Read, entered, commented and liked.", days=2),
            "max_entries_per_user": ENTRIES_PER_WRITER,
        }
        competition = await post(http, f"{url}/competitions", admin, body, "competition_id")
        entry = {"title": "The entry", "content": STORY}
        submit = f"{url}/competitions/{competition}/submit"
        entries = [await post(http, submit, who, entry, "submission_id") for who in people]
        comment = f"{url}/competitions/{competition}/comment/{entries[0]}"
        for n in range(COMMENTS):
            body = {"content": f"Comment {n}: the *ending* lands."}
            await post(http, comment, people[(n + 1) % writers], body, "comment_id")
    return Scene(competition, entries, list(people))


def signed_in(script: Path, who: Person) -> Path:
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {who.token}"\n')
    return script


def likes(script: Path, scene: Scene) -> Path:
    """Writer i+1 likes entry i, every writer in turn, then each takes the like back."""
    pairs = [
        (
            f"/competitions/{scene.competition}/like/{entry}",
            scene.writers[(i + 1) % len(scene.writers)],
        )
        for i, entry in enumerate(scene.entries)
    ]
    script.write_text(
        f"local paths = {{{', '.join(json.dumps(p) for p, _ in pairs)}}}\n"
        f"local tokens = {{{', '.join(json.dumps(f'Bearer {w.token}') for _, w in pairs)}}}\n"
        'local n, method = 0, "DELETE"\n'
        "request = function()\n"
        "  n = n % #paths + 1\n"
        '  if n == 1 then method = (method == "POST") and "DELETE" or "POST" end\n'
        '  return wrk.format(method, paths[n], {["Authorization"] = tokens[n]})\n'
        "end\n"
    )
    return script


def routes(scene: Scene, cached: Service, uncached: Service, workdir: Path) -> list[Route]:
    base = f"/competitions/{scene.competition}"
    entry = f"{base}/submissions/{scene.entries[0]}"
    reader = scene.writers[-1]
    writers = scene.writers
    pairs = [
        (f"{base}/comment/{e}", writers[(i + 1) % len(writers)])
        for i, e in enumerate(scene.entries)
    ]
    submit = rotation(
        workdir / "submit.lua",
        "POST",
        [(f"{base}/submit", w) for w in writers],
        {"title": "Another", "content": STORY},
    )
    return [
        Route("GET /competitions", "cached", cached, "/competitions"),
        Route("GET /competitions/{id}", "cached", cached, base),
        Route("GET /competitions", "uncached", uncached, "/competitions"),
        Route("GET /competitions/{id}", "uncached", uncached, base),
        Route("GET .../submissions", "uncached", cached, f"{base}/submissions"),
        Route("GET .../submissions/{id}", "uncached", cached, entry),
        Route(
            "GET .../submissions/{id} signed in",
            "uncached",
            cached,
            entry,
            signed_in(workdir / "reader.lua", reader),
        ),
        Route("POST .../submit", "write", cached, f"{base}/submit", submit, WRITE_CONNECTIONS),
        Route(
            "POST .../comment/{id}",
            "write",
            cached,
            pairs[0][0],
            rotation(workdir / "comment.lua", "POST", pairs, {"content": "Hm, *yes*."}),
            WRITE_CONNECTIONS,
        ),
        Route(
            "POST|DELETE .../like/{id}",
            "write",
            cached,
            f"{base}/like/{scene.entries[0]}",
            likes(workdir / "like.lua", scene),
            # A pair's like and its removal never in flight at once (a 409).
            min(WRITE_CONNECTIONS, len(scene.entries)),
        ),
    ]


@contextlib.contextmanager
def floor_app(workdir: Path, bodies: dict[str, str]) -> Iterator[tuple[int, str]]:
    """The floor serving ``bodies``; yields its pid and URL."""
    file = workdir / "floor-bodies.json"
    file.write_text(json.dumps(bodies))
    port = free_port()
    command = [sys.executable, "-m", "bench.floor_app", str(port), str(file)]
    with contextlib.ExitStack() as exits:
        started = start(exits, workdir, "floor", command, os.environ)
        url = f"http://{HOST}:{port}"
        wait_until(lambda: _answers(url + next(iter(bodies))), started)
        yield started.process.pid, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Counters:
    """What the service's database and Redis are asked to do, from ``reset`` on."""

    cluster: PostgresCluster
    database: str
    redis: Redis

    def reset(self) -> None:
        asyncio.run(self.cluster.execute("SELECT pg_stat_statements_reset()"))
        self.redis.config_resetstat()

    def statements(self) -> dict[str, int]:
        """Calls of each statement (its text, normalized) in the service's database."""
        return asyncio.run(self._statements())

    async def _statements(self) -> dict[str, int]:
        connection = await asyncpg.connect(self.cluster.admin_url)
        try:
            rows = await connection.fetch(
                "SELECT query, calls FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
                self.database,
            )
        finally:
            await connection.close()
        return {" ".join(row["query"].split()): int(row["calls"]) for row in rows}

    def drain(self) -> None:
        """Wait (``FANOUT_DEADLINE`` at most) until the fan-out jobs left by writes are
        done: they are the writes' consequences, their CPU and statements the writes'."""
        deadline = time.monotonic() + FANOUT_DEADLINE
        while asyncio.run(self._jobs_left()) and time.monotonic() < deadline:
            time.sleep(0.05)

    async def _jobs_left(self) -> int:
        connection = await asyncpg.connect(self.cluster.url(self.database))
        try:
            return int(await connection.fetchval("SELECT count(*) FROM fanout_jobs"))
        finally:
            await connection.close()

    def redis_commands(self) -> dict[str, int]:
        """Calls of each Redis command (CONFIG and INFO, the benchmark's own, left out)."""
        stats = self.redis.info("commandstats")
        return {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if name not in ("cmdstat_config|resetstat", "cmdstat_info")
        }


def cpu_per_request(pids: Sequence[int], wrk: Callable[[], WrkRun]) -> tuple[WrkRun, float]:
    """A wrk run and the CPU microseconds ``pids`` spent between them per request in it."""
    before = sum(cpu_seconds(pid) for pid in pids)
    run = wrk()
    return run, (sum(cpu_seconds(pid) for pid in pids) - before) * 1e6 / max(run.requests, 1)


def profile(route: Route, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    connections = route.connections
    output = workdir / f"profile-{abs(hash(route))}.txt"
    sampler = where.record(route.replica.pid, args.duration, output)
    run_wrk(route.replica.url + route.path, args.duration, connections, route.script)
    _, errors = sampler.communicate(timeout=60)
    if sampler.returncode != 0:
        raise SystemExit(f"py-spy failed: {errors.decode()}")
    return where.shares(output.read_text())


def measure(
    route: Route,
    args: argparse.Namespace,
    counters: Counters,
    replicas: Sequence[Service],
    floor: tuple[int, str],
    workdir: Path,
) -> dict[str, Any]:
    """One route's figures: the replica's CPU per request and what it asked the database
    and Redis for; a read's floor and ratio; with ``--profile``, where its CPU went.

    The replica and then the floor are measured ``--rounds`` times in turn: each figure
    is the median over the rounds, a read's ratio the median of each round's ratio.
    Statements and Redis commands are counted over all rounds. A write's figures include
    the fan-out jobs it leaves, done by whichever replica's worker takes them: the CPU is
    every replica's, until the jobs are done.
    """
    connections = route.connections
    url = route.replica.url + route.path
    warm_up(url, args.warmup, connections, route.script)
    write = route.kind == "write"
    if write:
        counters.drain()  # the warm-up's
    else:
        floor_pid, floor_url = floor
        warm_up(floor_url + route.path, args.warmup, connections)
    counters.reset()

    def wrk() -> WrkRun:
        run = run_wrk(url, args.duration, connections, route.script)
        if write:
            counters.drain()
        return run

    pids = [replica.pid for replica in replicas] if write else [route.replica.pid]
    runs, cpus, floor_cpus = [], [], []
    for _ in range(args.rounds):
        run, cpu = cpu_per_request(pids, wrk)
        runs.append(run)
        cpus.append(cpu)
        if not write:
            _, floor_cpu = cpu_per_request(
                [floor_pid], lambda: run_wrk(floor_url + route.path, args.duration, connections)
            )
            floor_cpus.append(floor_cpu)
    requests = max(sum(run.requests for run in runs), 1)
    statements = {q: calls / requests for q, calls in counters.statements().items()}
    commands = {c: calls / requests for c, calls in counters.redis_commands().items()}
    cpu = statistics.median(cpus)
    row = point(
        # The round whose CPU is the median's (the lower middle one of an even number).
        runs[cpus.index(statistics.median_low(cpus))],
        route=route.name,
        kind=route.kind,
        replica_cpu_us=cpu,
        replica_cpu_us_rounds=cpus,
        statements=sum(statements.values()),
        statement_calls=statements,
        redis_commands=sum(commands.values()),
        redis_calls=commands,
    )
    row["errors"] = sum(run.errors for run in runs)
    if not write:
        row["floor_cpu_us"] = statistics.median(floor_cpus)
        ratios = [c / max(f, 1e-9) for c, f in zip(cpus, floor_cpus, strict=True)]
        row["ratio"] = statistics.median(ratios)
    if args.profile:
        row["profile"] = profile(route, args, workdir)
    log("floor: %s %s %.0f us", route.kind, route.name, cpu)
    return row


def part(
    args: argparse.Namespace, cluster: PostgresCluster, redis: RedisServer, workdir: Path
) -> tuple[str, dict[str, Any]]:
    # Logging each request, as in production (the other parts log warnings only).
    settings = {"LITCOMP_REDIS_PREFIX": "benchf", "LITCOMP_LOG_LEVEL": "INFO"}
    asyncio.run(cluster.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    with http_stack(cluster, workdir, "floor", competitions=0, **settings) as stack:
        cached = stack.add_replica("competitions", LITCOMP_REDIS_URL=redis.url)
        uncached = stack.add_replica("competitions")
        scene = asyncio.run(set_scene(stack, cached.url, args.entrants))
        measured = routes(scene, cached, uncached, workdir)
        reads = [r for r in measured if r.kind != "write"]
        bodies = {
            r.path: httpx.get(r.replica.url + r.path, timeout=10).raise_for_status().text
            for r in reads
        }
        counters = Counters(cluster, "bench_floor_competitions", Redis.from_url(redis.url))
        figures: dict[str, Any] = {"routes": []}
        with floor_app(workdir, bodies) as floor:
            for route in measured:
                figures["routes"].append(
                    measure(route, args, counters, [cached, uncached], floor, workdir)
                )
    return report(args, figures), figures


def report(args: argparse.Namespace, figures: dict[str, Any]) -> str:
    lines = [
        "== floor: a competitions replica's CPU per request against a minimal FastAPI app "
        "answering the same bytes on the same uvicorn (PostgreSQL; reads wrk -t1 "
        f"-c{READ_CONNECTIONS}, writes -c{WRITE_CONNECTIONS}, -d{args.duration:g}s each, "
        f"median of {args.rounds} round(s); a write's CPU is both replicas' until the "
        "fan-out jobs it left are done)",
        f"{'route':<36} {'kind':<9} {'req/s':>6} {'CPU us':>7} {'floor us':>8} {'ratio':>6} "
        f"{'target':>7} {'SQL/req':>7} {'Redis/req':>9} {'errors':>6}",
    ]
    for row in figures["routes"]:
        target = {"cached": f"{CACHED_TARGET:g}x", "uncached": f"{UNCACHED_TARGET:g}x"}.get(
            row["kind"], f"{WRITE_TARGET_US} us"
        )
        floor = (
            f"{row['floor_cpu_us']:8.0f} {row['ratio']:5.2f}x"
            if "ratio" in row
            else f"{'':8} {'':6}"
        )
        lines.append(
            f"{row['route']:<36} {row['kind']:<9} {row['requests_per_second']:>6.0f} "
            f"{row['replica_cpu_us']:>7.0f} {floor} {target:>7} {row['statements']:>7.2f} "
            f"{row['redis_commands']:>9.2f} {row['errors']:>6}"
        )
    profiled = [row for row in figures["routes"] if "profile" in row]
    if profiled:
        layers = [name for name, _ in where.LAYERS] + ["other"]
        lines.append("where the replica's CPU goes (py-spy samples, % of each route's):")
        lines.append(f"{'layer':<22}" + "".join(f"{n + 1:>6}" for n in range(len(profiled))))
        for layer in layers:
            values = [row["profile"][layer] * 100 for row in profiled]
            if max(values) >= 0.5:
                lines.append(f"{layer:<22}" + "".join(f"{v:>6.0f}" for v in values))
        lines.append(
            "columns: "
            + "; ".join(f"{n + 1} {row['route']} ({row['kind']})" for n, row in enumerate(profiled))
        )
        lines.extend(asked(figures["routes"]))
    return "\n".join(lines)


def asked(rows: list[dict[str, Any]]) -> Iterator[str]:
    """Each route's statements and Redis commands per request (those made at least once
    in ten requests), most first."""
    for row in rows:
        yield f"{row['route']} ({row['kind']}), per request:"
        calls = [*row["statement_calls"].items(), *row["redis_calls"].items()]
        for what, per_request in sorted(calls, key=lambda c: -c[1]):
            if per_request >= 0.1:
                yield f"  {per_request:5.2f}  {what[:110]}"
