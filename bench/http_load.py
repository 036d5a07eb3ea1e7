"""The HTTP parts of `make bench`, wrk through the gateway: ``balancing``,
``concurrency``, ``replicas`` and ``cache``.

Each starts its own platform on the run's PostgreSQL cluster (fresh databases) with
bench/stack.py, people signed up over HTTP (bench/people.py), and returns its report
and figures to bench/run.py.

- ``balancing``: round robin against least load, three competitions replicas, one of
  them behind bench/delay_proxy.py, which holds every answer ``--delay-ms`` (the
  service has no flag for it: the proxy is registered with discovery in the replica's
  place, the replica with a discovery of its own).
- ``concurrency``: requests/s and p50/p99 latency against ``--levels`` connections,
  GET /competitions (the main read; cached) and POST a comment (the main write), two
  competitions replicas with Redis.
- ``replicas``: 1, 2 and 3 competitions replicas (no cache, so the replicas do the
  work), the same read and write, and the replicas' CPU per request.
- ``cache``: GET /competitions, ``--competitions`` open competitions, two replicas with
  Redis (hits checked in their /metrics) and without it (every request reads PostgreSQL).
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import statistics
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.measure import cpu_seconds, log, point, process_tree_cpu, run_wrk, warm_up
from bench.people import (
    Person,
    create_admin,
    log_in,
    open_competition,
    open_competitions,
    sign_up,
)
from bench.stack import HOST, PostgresCluster, RedisServer, Service, Stack, start
from litcomp.launcher import free_port

# --- a platform and its people -----------------------------------------------------------


@dataclass
class Scene:
    """One open competition, ``pairs`` entries by different authors, and one commenter each.

    Writes spread over the pairs, so they measure the endpoint, not one hot row (every
    comment on an entry takes its author's notification counter).
    """

    competition: str
    entries: list[str]
    writers: list[Person]

    def workloads(self, stack: Stack) -> list[tuple[str, str, Path | None]]:
        """(kind, URL, wrk script): read = GET /competitions, write = POST a comment."""
        write = f"{stack.url}/competitions/{self.competition}/comment/{self.entries[0]}"
        script = self.script(stack.workdir, stack.url)
        return [("read", f"{stack.url}/competitions", None), ("write", write, script)]

    def script(self, workdir: Path, base_url: str) -> Path:
        """A wrk script that POSTs a comment as writer i on entry i, i in turn."""
        paths = [f"/competitions/{self.competition}/comment/{entry}" for entry in self.entries]
        body = {"content": "Hm."}
        return rotation(
            workdir / "comment.lua", "POST", list(zip(paths, self.writers, strict=True)), body
        )


def rotation(
    script: Path, method: str, targets: list[tuple[str, Person]], body: dict[str, str]
) -> Path:
    """A wrk script sending ``body`` to each (path, person) of ``targets`` in turn, with
    that person's token. The body's JSON must be ASCII: Lua strings know no \\u escapes."""
    paths = ", ".join(json.dumps(path) for path, _ in targets)
    tokens = ", ".join(json.dumps(f"Bearer {person.token}") for _, person in targets)
    script.write_text(
        f"local paths = {{{paths}}}\n"
        f"local tokens = {{{tokens}}}\n"
        f"local body = {json.dumps(json.dumps(body))}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n % #paths + 1\n"
        '  local headers = {["Content-Type"] = "application/json", '
        '["Authorization"] = tokens[n]}\n'
        f'  return wrk.format("{method}", paths[n], headers, body)\n'
        "end\n"
    )
    return script


async def set_scene(stack: Stack, tag: str, pairs: int) -> Scene:
    """Everyone signs up at once, the admin (made by a process of its own) meanwhile:
    the users instance hashes as many passwords at a time as the machine has cores."""
    users_url = stack.running("users")[0].url
    async with httpx.AsyncClient(timeout=60) as http:
        names = [f"{role}{tag}{n}" for role in ("author", "writer") for n in range(pairs)]
        admin_email, people = await asyncio.gather(
            asyncio.to_thread(create_admin, stack, f"admin{tag}"),
            asyncio.gather(*(sign_up(http, users_url, name) for name in names)),
        )
        authors, writers = people[:pairs], people[pairs:]
        admin = await log_in(http, users_url, admin_email)
        body = open_competition(f"Bench {tag}", "Stories written while a benchmark runs.", days=2)
        competition = await post(http, f"{stack.url}/competitions", admin, body, "competition_id")
        url = f"{stack.url}/competitions/{competition}/submit"
        entry = {"title": "The entry", "content": "Comment on me."}
        entries = await asyncio.gather(
            *(post(http, url, author, entry, "submission_id") for author in authors)
        )
    return Scene(competition, entries, writers)


async def post(
    http: httpx.AsyncClient, url: str, who: Person, body: dict[str, Any], key: str
) -> str:
    response = await http.post(url, json=body, headers=who.auth)
    if response.status_code != 201:
        raise SystemExit(f"POST {url}: {response.status_code} {response.text}")
    return str(response.json()[key])


@contextlib.contextmanager
def http_stack(
    cluster: PostgresCluster, workdir: Path, name: str, competitions: int, **settings: str
) -> Iterator[Stack]:
    """Discovery, one users and ``competitions`` competitions instances on fresh databases;
    everything stops on the way out."""
    with contextlib.ExitStack() as exits:
        databases = {
            "LITCOMP_USERS_DATABASE_URL": cluster.create_database(f"bench_{name}_users"),
            "LITCOMP_COMPETITIONS_DATABASE_URL": cluster.create_database(
                f"bench_{name}_competitions"
            ),
        }
        folder = workdir / name
        folder.mkdir()
        stack = Stack(exits, folder, {**databases, **settings})
        stack.start_discovery()
        stack.add_replicas({"users": 1, "competitions": competitions})
        yield stack


# --- the parts -----------------------------------------------------------------------------------


class Lease(threading.Thread):
    """Keeps a hand-made registration in discovery (the slowed replica's proxy) alive."""

    def __init__(self, discovery_url: str, registration: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self._url = f"{discovery_url}/discovery/instances"
        self._registration = registration
        # One client for every renewal: httpx.post would make one each time, building a TLS
        # context (~40 ms of CPU) while wrk measures.
        self._http = httpx.Client(timeout=2)
        self._stop = threading.Event()

    def renew(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self._http.post(self._url, json=self._registration)

    def run(self) -> None:
        while not self._stop.wait(2):
            self.renew()
        self._http.close()

    def stop(self) -> None:
        self._stop.set()


def balancing(
    args: argparse.Namespace, cluster: PostgresCluster, workdir: Path
) -> tuple[str, dict[str, Any]]:
    """Round robin against least load, three competitions replicas, one of them slowed."""
    with http_stack(cluster, workdir, "balancing", competitions=2) as stack:
        # The slowed replica registers with a discovery of its own, nobody else's; the
        # proxy in front of it is registered with the real one in its place.
        (stack.workdir / "hidden").mkdir()
        ports = ("LITCOMP_DISCOVERY_URL", "LITCOMP_DISCOVERY_PORT", "LITCOMP_GATEWAY_PORT")
        settings = {k: v for k, v in stack.settings.items() if k not in ports}
        hidden = Stack(stack.stack, stack.workdir / "hidden", settings)
        hidden.start_discovery()
        slowed = hidden.add_replica("competitions")
        proxy_port = free_port()
        command = [sys.executable, "-m", "bench.delay_proxy", str(proxy_port)]
        command += [str(slowed.registration["http_port"]), str(args.delay_ms)]
        start(stack.stack, stack.workdir, "delay-proxy", command, os.environ)
        slowed_id = f"slowed-{slowed.instance_id}"
        lease = Lease(
            stack.discovery_url,
            {
                "service": "competitions",
                "instance_id": slowed_id,
                "host": HOST,
                "http_port": proxy_port,
            },
        )
        lease.renew()
        lease.start()
        stack.stack.callback(lease.stop)
        stack.extra_instances["competitions"] = {slowed_id}
        figures: dict[str, Any] = {}
        for policy in ("round_robin", "least_load"):
            stack.start_gateway(LITCOMP_GATEWAY_BALANCER=policy)
            url = f"{stack.url}/competitions"
            warm_up(url, args.warmup, 32)
            before = requests_per_instance(stack)
            run = run_wrk(url, args.duration * 2, 32)
            after = requests_per_instance(stack)
            sent = {key: after[key] - before.get(key, 0) for key in after}
            share = sent.get(slowed_id, 0) / max(sum(sent.values()), 1)
            figures[policy] = point(run, slowed_share=share)
            log("balancing: %s %.0f req/s", policy, run.requests_per_second)
            assert stack.gateway is not None
            stack.gateway.stop()
    lines = [
        f"== balancing: three competitions replicas, one answering {args.delay_ms} ms late "
        f"(wrk -c32 -d{args.duration * 2:g}s GET /competitions through the gateway, no cache)",
        f"{'policy':<12} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'to the slowed one':>18}",
    ]
    for policy, each in figures.items():
        lines.append(
            f"{policy:<12} {each['requests_per_second']:>7.0f} {each['p50_ms']:>7.1f} "
            f"{each['p99_ms']:>8.1f} {each['slowed_share']:>17.1%}"
        )
    rr, ll = figures["round_robin"], figures["least_load"]
    lines.append(
        f"least load / round robin: {ll['requests_per_second'] / rr['requests_per_second']:.2f}x "
        f"req/s, p99 {ll['p99_ms'] / rr['p99_ms']:.2f}x"
    )
    return "\n".join(lines), {"delay_ms": args.delay_ms, "policies": figures}


def requests_per_instance(stack: Stack) -> dict[str, int]:
    listed = stack.gateway_status()["services"].get("competitions", [])
    return {i["instance_id"]: int(i["requests"]) for i in listed}


def concurrency(
    args: argparse.Namespace, cluster: PostgresCluster, redis: RedisServer, workdir: Path
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The read and the write against ``--levels`` connections, two replicas with Redis."""
    settings = {"LITCOMP_REDIS_URL": redis.url, "LITCOMP_REDIS_PREFIX": "benchc"}
    sweep: dict[str, list[dict[str, Any]]] = {"read": [], "write": []}
    with http_stack(cluster, workdir, "concurrency", competitions=2, **settings) as stack:
        stack.start_gateway()
        scene = asyncio.run(set_scene(stack, secrets.token_hex(3), args.writers))
        for connections in args.levels:
            for kind, url, lua in scene.workloads(stack):
                warm_up(url, args.warmup, connections, lua)
                run = run_wrk(url, args.duration, connections, lua)
                sweep[kind].append(point(run, connections=connections))
                log("concurrency: %s c=%d %.0f req/s", kind, connections, run.requests_per_second)
    lines = [
        "== concurrency: through the gateway, two competitions replicas with Redis "
        f"(wrk -t1 -d{args.duration:g}s each, after {args.warmup} s)",
        f"{'connections':>11}  {'read req/s':>10} {'p50 ms':>7} {'p99 ms':>8}"
        f"  {'write req/s':>11} {'p50 ms':>7} {'p99 ms':>8}",
    ]
    for r, w in zip(sweep["read"], sweep["write"], strict=True):
        lines.append(
            f"{r['connections']:>11}  {r['requests_per_second']:>10.0f} {r['p50_ms']:>7.1f} "
            f"{r['p99_ms']:>8.1f}  {w['requests_per_second']:>11.0f} {w['p50_ms']:>7.1f} "
            f"{w['p99_ms']:>8.1f}"
            + (f"  errors {r['errors']}/{w['errors']}" if r["errors"] or w["errors"] else "")
        )
    lines.append(
        "read = GET /competitions (cached in Redis); "
        f"write = POST a comment ({args.writers} writers on {args.writers} entries, in turn)"
    )
    return "\n".join(lines), sweep


def replicas(
    args: argparse.Namespace, cluster: PostgresCluster, workdir: Path
) -> tuple[str, list[dict[str, Any]]]:
    """The read (uncached) and the write with 1, 2 and 3 competitions replicas."""
    rows: list[dict[str, Any]] = []
    with http_stack(cluster, workdir, "replicas", competitions=1) as stack:
        stack.start_gateway()
        scene = asyncio.run(set_scene(stack, secrets.token_hex(3), args.writers))
        for count in (1, 2, 3):
            while len(stack.running("competitions")) < count:
                stack.add_replica("competitions")
            stack.wait_settled()
            row: dict[str, Any] = {"replicas": count}
            for kind, url, lua in scene.workloads(stack):
                warm_up(url, args.warmup, 32, lua)
                cpu = sum(process_tree_cpu(r.pid) for r in stack.running("competitions"))
                run = run_wrk(url, args.duration, 32, lua)
                used = sum(process_tree_cpu(r.pid) for r in stack.running("competitions")) - cpu
                row[kind] = point(run, replicas_cpu_us=used * 1e6 / max(run.requests, 1))
                log("replicas: %d %s %.0f req/s", count, kind, run.requests_per_second)
            rows.append(row)
    lines = [
        "== replicas: 1, 2, 3 competitions replicas behind the gateway, no cache "
        f"(wrk -c32 -d{args.duration:g}s)",
        f"{'replicas':>8}  {'read req/s':>10} {'p99 ms':>8} {'CPU us/req':>10}"
        f"  {'write req/s':>11} {'p99 ms':>8} {'CPU us/req':>10}",
    ]
    for row in rows:
        r, w = row["read"], row["write"]
        lines.append(
            f"{row['replicas']:>8}  {r['requests_per_second']:>10.0f} {r['p99_ms']:>8.1f} "
            f"{r['replicas_cpu_us']:>10.0f}  {w['requests_per_second']:>11.0f} "
            f"{w['p99_ms']:>8.1f} {w['replicas_cpu_us']:>10.0f}"
        )
    lines.append(
        f"this machine has {os.cpu_count()} cores for wrk, the gateway, the replicas and "
        "PostgreSQL: past two replicas the machine, not the design, is the limit"
    )
    return "\n".join(lines), rows


# A story of about 1,000 words (ASCII: see rotation), the text every entries-part write sends.
STORY = " ".join(["The keeper counted ships that never came, and kept counting."] * 100)
# The most a competition allows: with the default 32 writers in turn, room for 3,200
# submits, more than a run of a few hundred a second makes.
ENTRIES_PER_WRITER = 100


async def entry_scene(stack: Stack, tag: str, writers: int) -> tuple[str, list[Person], list[str]]:
    """A competition taking many entries each, and ``writers`` writers with one entry
    each; returns the competition, the writers and their entries."""
    users_url = stack.running("users")[0].url
    async with httpx.AsyncClient(timeout=60) as http:
        admin_email, people = await asyncio.gather(
            asyncio.to_thread(create_admin, stack, f"admin{tag}"),
            asyncio.gather(*(sign_up(http, users_url, f"entrant{tag}{n}") for n in range(writers))),
        )
        admin = await log_in(http, users_url, admin_email)
        body = {
            **open_competition(f"Entries {tag}", "Entered, edited and drafted.", days=2),
            "max_entries_per_user": ENTRIES_PER_WRITER,
        }
        competition = await post(http, f"{stack.url}/competitions", admin, body, "competition_id")
        url = f"{stack.url}/competitions/{competition}/submit"
        entry = {"title": "The entry", "content": STORY}
        entries = await asyncio.gather(
            *(post(http, url, who, entry, "submission_id") for who in people)
        )
    return competition, list(people), list(entries)


def entries(
    args: argparse.Namespace, cluster: PostgresCluster, workdir: Path
) -> tuple[str, dict[str, Any]]:
    """What keeping a writer's text costs: an edit and a draft save against a submit,
    each sending the same ~1,000 words through the gateway to one competitions replica."""
    with http_stack(cluster, workdir, "entries", competitions=1) as stack:
        stack.start_gateway()
        competition, people, ids = asyncio.run(
            entry_scene(stack, secrets.token_hex(3), args.entrants)
        )
        base = f"/competitions/{competition}"
        kinds = {
            "submit": ("POST", [(f"{base}/submit", who) for who in people], {"title": "T"}),
            "edit": (
                "PATCH",
                [(f"{base}/submissions/{i}", w) for i, w in zip(ids, people, strict=True)],
                {},
            ),
            "draft": ("PUT", [(f"{base}/draft", who) for who in people], {"title": "T"}),
        }
        figures: dict[str, Any] = {}
        for kind, (method, targets, fields) in kinds.items():
            script = rotation(
                workdir / f"{kind}.lua", method, targets, {**fields, "content": STORY}
            )
            url = f"{stack.url}{targets[0][0]}"
            replica = stack.running("competitions")[0]
            warm_up(url, args.warmup, 8, script)
            cpu = process_tree_cpu(replica.pid)
            run = run_wrk(url, args.duration, 8, script)
            used = process_tree_cpu(replica.pid) - cpu
            figures[kind] = point(run, replica_cpu_us=used * 1e6 / max(run.requests, 1))
            log("entries: %s %.0f req/s", kind, run.requests_per_second)
    submit = figures["submit"]["replica_cpu_us"]
    for kind in ("edit", "draft"):
        figures[f"{kind}_vs_submit_cpu"] = figures[kind]["replica_cpu_us"] / max(submit, 1)
    lines = [
        "== entries: a submit, an edit and a draft save of ~1,000 words through the gateway, "
        f"one competitions replica (wrk -c8 -d{args.duration:g}s each, "
        f"{args.entrants} writers in turn)",
        f"{'':>8}  {'req/s':>7} {'p99 ms':>8} {'replica CPU us/req':>18}  {'errors':>6}",
    ]
    for kind in kinds:
        f = figures[kind]
        lines.append(
            f"{kind:>8}  {f['requests_per_second']:>7.0f} {f['p99_ms']:>8.1f} "
            f"{f['replica_cpu_us']:>18.0f}  {f['errors']:>6}"
        )
    lines.append(
        f"CPU per request against a submit: edit {figures['edit_vs_submit_cpu']:.2f}x, "
        f"draft save {figures['draft_vs_submit_cpu']:.2f}x (at most 1x is the target)"
    )
    return "\n".join(lines), figures


@dataclass(frozen=True)
class CacheRun:
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
        text = httpx.get(f"{instance.url}/metrics", timeout=5).raise_for_status().text
        for outcome, value in LOOKUP.findall(text):
            totals[outcome] = totals.get(outcome, 0) + float(value)
    return totals


def measure_cache(stack: Stack, args: argparse.Namespace, **replica_env: str) -> CacheRun:
    """Two replicas and a gateway with ``replica_env``; three wrk runs through the
    gateway (medians); then they stop."""
    replicas = stack.add_replicas({"competitions": 2}, **replica_env)
    gateway = stack.start_gateway()
    url = f"{stack.url}/competitions"
    warm_up(url, args.warmup, 32)
    lookups, cpu = cache_lookups(replicas), sum(cpu_seconds(r.pid) for r in replicas)
    runs = [run_wrk(url, args.duration, 32) for _ in range(3)]
    used = sum(cpu_seconds(r.pid) for r in replicas) - cpu
    after = cache_lookups(replicas)
    requests = sum(r.requests for r in runs)
    gateway.stop()
    for replica in replicas:
        replica.stop()
    return CacheRun(
        requests_per_second=statistics.median(r.requests_per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=requests,
        errors=sum(r.errors for r in runs),
        lookups={k: v - lookups.get(k, 0) for k, v in after.items()},
        replicas_us_per_request=used * 1e6 / max(requests, 1),
    )


def cache(
    args: argparse.Namespace, cluster: PostgresCluster, redis: RedisServer, workdir: Path
) -> tuple[str, dict[str, Any]]:
    """Cached against uncached GET /competitions through the gateway."""
    settings = {"LITCOMP_REDIS_PREFIX": "benchk"}
    with http_stack(cluster, workdir, "cache", competitions=1, **settings) as stack:
        [seeder] = stack.running("competitions")
        users_url = stack.running("users")[0].url
        admin_email = create_admin(stack, "cacheadmin")
        asyncio.run(open_competitions(seeder.url, users_url, admin_email, args.competitions))
        seeder.stop()
        results = {
            "cached": measure_cache(stack, args, LITCOMP_REDIS_URL=redis.url),
            "uncached": measure_cache(stack, args),
        }
    lines = [
        f"== cache: GET /competitions through the gateway, two replicas, {args.competitions} "
        f"competitions (wrk -t1 -c32 -d{args.duration:g}s, median of 3)",
        f"{'':<10} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'replicas CPU us/req':>19}  lookups",
    ]
    for name, r in results.items():
        lookups = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r.lookups.items()) if v)
        lines.append(
            f"{name:<10} {r.requests_per_second:>7.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{r.replicas_us_per_request:>19.0f}  {lookups} (errors {r.errors})"
        )
    on, off = results["cached"], results["uncached"]
    lines.append(
        f"cached / uncached: {on.requests_per_second / off.requests_per_second:.2f}x req/s, "
        f"p50 {on.p50_ms / off.p50_ms:.2f}x, p99 {on.p99_ms / off.p99_ms:.2f}x"
    )
    return "\n".join(lines), {name: asdict(r) for name, r in results.items()}
