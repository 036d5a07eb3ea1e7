"""`make bench`: every benchmark of the platform in one run, with a results file and plots.

Usage::

    .venv/bin/python -m bench.run                     # everything, ~7 minutes
    .venv/bin/python -m bench.run --quick             # smaller counts, ~4 minutes
    .venv/bin/python -m bench.run --parts concurrency,replicas --duration 3

Everything runs on 127.0.0.1 and is started and stopped by this run (error, Ctrl-C,
TERM or ``--time-limit`` included): a private PostgreSQL cluster (``initdb`` in a
temporary directory, a free port; each part makes its own databases in it), a private
``redis-server``, and ``litcomp serve`` processes. Load comes from ``wrk`` (HTTP) and
from bench/ws_clients.py processes (WebSockets). The parts, in order:

- ``proxies``: the gateway against nginx and direct, on the real path (GET
  /competitions of one instance) and on a static upstream (each proxy's ceiling):
  bench/gateway_vs_nginx.py's measurement, ``--rounds`` rounds.
- ``balancing``: round robin against least load through the gateway, three
  competitions replicas, one of them behind bench/delay_proxy.py, which holds every
  answer ``--delay-ms`` (the service has no flag for it: the proxy is registered with
  discovery in the replica's place).
- ``concurrency``: requests/s and p50/p99 latency against 1 to 256 connections, GET
  /competitions (the main read; cached) and POST a comment (the main write), through
  the gateway, two competitions replicas with Redis.
- ``replicas``: 1, 2 and 3 competitions replicas behind the gateway (no cache, so the
  replicas do the work), the same read and write. This machine has 2 cores shared by
  wrk, the gateway, the replicas and PostgreSQL, so past two replicas the machine,
  not the design, is the limit.
- ``fanout``: bench/fanout.py's fan-out, ``--sockets`` (1k, 5k, 10k) subscribers on
  sockets held by ONE competitions instance; latency from an entry to its notice at the
  last socket, and memory per idle socket.
- ``likes``: bench/fanout.py's hot entry: ``--likers`` users like one entry at once.
- ``cache``: bench/fanout.py's cached against uncached GET /competitions.

The results go to ``--output`` (bench/results): ``bench-<UTC time>.json`` (every
figure), ``bench-<UTC time>.txt`` (the report printed) and one PNG per part that
has a plot (``bench-<part>.png``, replaced by each run: bench/README.md shows them).
"""

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import fanout, gateway_vs_nginx, people, plots
from bench.gateway_vs_nginx import HOST, WrkRun, parse_wrk, process_tree_cpu
from bench.people import Person, create_admin, log_in, open_competition, sign_up
from bench.stack import PostgresCluster, RedisServer, Stack, install_hint, missing_tools, start
from litcomp.launcher import free_port

RESULTS = Path(__file__).with_name("results")
PARTS = ("proxies", "balancing", "concurrency", "replicas", "fanout", "likes", "cache")


def log(message: str, *values: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] " + message % values, file=sys.stderr, flush=True)


# --- wrk -----------------------------------------------------------------------------------


def run_wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def warm_up(url: str, seconds: int, connections: int, script: Path | None = None) -> None:
    """A wrk run whose figures are dropped (none for 0 s)."""
    if seconds:
        run_wrk(url, seconds, connections, script)


def point(run: WrkRun, **extra: Any) -> dict[str, Any]:
    return {
        "requests_per_second": run.requests_per_second,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "requests": run.requests,
        "errors": run.errors,
        **extra,
    }


# --- a platform for the HTTP parts -----------------------------------------------------------


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
        tokens = [f"Bearer {w.token}" for w in self.writers]
        script = workdir / "comment.lua"
        script.write_text(
            f"local paths = {{{', '.join(json.dumps(p) for p in paths)}}}\n"
            f"local tokens = {{{', '.join(json.dumps(t) for t in tokens)}}}\n"
            "local n = 0\n"
            "request = function()\n"
            "  n = n % #paths + 1\n"
            '  local headers = {["Content-Type"] = "application/json", '
            '["Authorization"] = tokens[n]}\n'
            '  return wrk.format("POST", paths[n], headers, \'{"content": "Hm."}\')\n'
            "end\n"
        )
        return script


async def set_scene(stack: Stack, tag: str, pairs: int) -> Scene:
    """Everyone signs up at once, the admin (made by a process of its own) meanwhile:
    the users instance hashes as many passwords at a time as the machine has cores."""
    users_url = stack.running("users")[0].url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
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
    http: aiohttp.ClientSession, url: str, who: Person, body: dict[str, Any], key: str
) -> str:
    async with http.post(url, json=body, headers=who.auth) as response:
        if response.status != 201:
            raise SystemExit(f"POST {url}: {response.status} {await response.text()}")
        return str((await response.json())[key])


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


# --- parts -----------------------------------------------------------------------------------


@dataclass
class Results:
    facts: dict[str, Any]
    parts: dict[str, Any] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.report.append(text)


def part_proxies(args: argparse.Namespace, results: Results) -> None:
    """bench/gateway_vs_nginx.py's measurement (its own processes, embedded SQLite)."""
    tools = gateway_vs_nginx.find_tools()
    wrk_args = argparse.Namespace(
        warmup=args.warmup, duration=args.duration, connections=32, rounds=args.rounds
    )
    samples: dict[str, list[gateway_vs_nginx.Sample]] = {}
    with gateway_vs_nginx.everything(tools) as targets:
        for round_ in range(args.rounds):
            for target in targets:
                log("proxies: round %d: %s", round_ + 1, target.name)
                measured = gateway_vs_nginx.measure(target, tools, wrk_args)
                samples.setdefault(target.name, []).append(measured)
    medians = {name: gateway_vs_nginx.median_sample(each) for name, each in samples.items()}
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        gateway_vs_nginx.print_report(medians, wrk_args, [])
    results.say("== proxies: the gateway, nginx and direct\n" + text.getvalue().strip())
    results.parts["proxies"] = {
        "targets": {name: asdict(sample) for name, sample in medians.items()},
        "ratios": {
            ratio.label: ratio.value(medians)
            for ratio in gateway_vs_nginx.RATIOS
            if ratio.numerator in medians
        },
        "nginx": gateway_vs_nginx.version_of([tools.nginx, "-v"]),
    }


class Lease(threading.Thread):
    """Keeps a hand-made registration in discovery (the slowed replica's proxy) alive."""

    def __init__(self, discovery_url: str, registration: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self._url = f"{discovery_url}/discovery/instances"
        self._body = json.dumps(registration).encode()
        self._stop = threading.Event()

    def renew(self) -> None:
        request = urllib.request.Request(
            self._url, data=self._body, headers={"Content-Type": "application/json"}
        )
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=2):
            pass

    def run(self) -> None:
        while not self._stop.wait(2):
            self.renew()

    def stop(self) -> None:
        self._stop.set()


def part_balancing(
    args: argparse.Namespace, results: Results, cluster: PostgresCluster, workdir: Path
) -> None:
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
    results.say("\n".join(lines))
    results.parts["balancing"] = {"delay_ms": args.delay_ms, "policies": figures}


def requests_per_instance(stack: Stack) -> dict[str, int]:
    listed = stack.gateway_status()["services"].get("competitions", [])
    return {i["instance_id"]: int(i["requests"]) for i in listed}


def part_concurrency(
    args: argparse.Namespace,
    results: Results,
    cluster: PostgresCluster,
    redis: RedisServer,
    workdir: Path,
) -> None:
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
        f"(wrk -t1 -d{args.duration:g}s each, after 1 s)",
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
    results.say("\n".join(lines))
    results.parts["concurrency"] = sweep


def part_replicas(
    args: argparse.Namespace, results: Results, cluster: PostgresCluster, workdir: Path
) -> None:
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
    results.say("\n".join(lines))
    results.parts["replicas"] = rows


def part_notifications(
    args: argparse.Namespace,
    results: Results,
    cluster: PostgresCluster,
    redis: RedisServer,
    workdir: Path,
    parts: set[str],
) -> None:
    """Fan-out at each size, the hot entry and the cache, with bench/fanout.py's code."""
    folder = workdir / "notifications"
    folder.mkdir()
    users_db = cluster.create_database("bench_fanout_users")
    competitions_db = cluster.create_database("bench_fanout_competitions")
    sizes = sorted(args.sockets)
    writers_count = args.warmup_rounds + args.fanout_rounds + 1
    with contextlib.ExitStack() as exits:
        platform_ = Stack(
            exits,
            folder,
            {
                "LITCOMP_USERS_DATABASE_URL": users_db,
                "LITCOMP_COMPETITIONS_DATABASE_URL": competitions_db,
                "LITCOMP_REDIS_PREFIX": "benchf",
            },
        )
        platform_.start_discovery()
        users = platform_.add_replica("users")
        competitions = platform_.add_replica("competitions", LITCOMP_REDIS_URL=redis.url)
        admin_email = people.create_admin(platform_, "benchadmin")
        admin = asyncio.run(fanout.log_in(users.url, admin_email))
        contests = asyncio.run(fanout.create_competitions(competitions.url, admin, len(sizes)))
        count = max([*sizes, args.likers])
        log("notifications: seeding %d users and %d writers", count, writers_count)
        subscribers = asyncio.run(fanout.insert_users(users_db, "s", count))
        writers = asyncio.run(fanout.insert_users(users_db, "w", writers_count))
        for size, contest in zip(sizes, contests, strict=True):
            asyncio.run(fanout.insert_subscriptions(users_db, subscribers[:size], contest))
        key_file = platform_.var_dir / "jwt-signing-key.pem"
        subscribers = fanout.mint_tokens(key_file, subscribers)
        writers = fanout.mint_tokens(key_file, writers)
        if "fanout" in parts:
            rows: list[dict[str, Any]] = []
            for size, contest in zip(sizes, contests, strict=True):
                fan_args = argparse.Namespace(
                    sockets=size,
                    processes=max(1, min(10, size // 500)),
                    rounds=args.fanout_rounds,
                    warmup_rounds=args.warmup_rounds,
                    pause=0.5,
                    redis=True,
                    idle_seconds=args.idle_seconds,
                )
                # A fresh instance per size (the first size gets the one that made the
                # competitions): one that held sockets before keeps the memory they
                # freed, which would make the next size look cheaper.
                if rows:
                    competitions.stop()
                    competitions = platform_.add_replica(
                        "competitions", LITCOMP_REDIS_URL=redis.url
                    )
                log("fan-out: %d sockets", size)
                result = asyncio.run(
                    fanout.run_fanout(
                        fan_args,
                        folder,
                        competitions,
                        users.pid,
                        contest,
                        subscribers,
                        writers[:-1],
                    )
                )
                text = io.StringIO()
                with contextlib.redirect_stdout(text):
                    fanout.print_fanout(result, fan_args)
                results.say(f"== fan-out to {size} sockets" + text.getvalue().rstrip())
                rows.append(fanout_summary(size, result))
            results.parts["fanout"] = rows
        if "likes" in parts:
            log("likes: %d likers", args.likers)
            liked = asyncio.run(
                fanout.run_likes(
                    competitions, contests[-1], writers[-1], subscribers[: args.likers]
                )
            )
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                fanout.print_likes(liked, args.likers)
            results.say("== likes" + text.getvalue().rstrip())
            seconds = [like.seconds for like in liked.likes]
            results.parts["likes"] = {
                "likers": args.likers,
                "likes_per_second": args.likers / liked.wall_seconds,
                "p50_ms": fanout.percentile(seconds, 50) * 1000,
                "p99_ms": fanout.percentile(seconds, 99) * 1000,
                "retried": sum(like.attempts > 1 for like in liked.likes),
                "failed": sum(like.final_status != 200 for like in liked.likes),
                "like_count": liked.like_count,
                "liked_notices": liked.liked_notices,
                "notice_ids_in_order": liked.notice_ids_in_order,
                "server_cpu_seconds": liked.server_cpu,
            }
        if "cache" in parts:
            log("cache: %d competitions, two replicas with Redis, then without", args.competitions)
            more = args.competitions - len(contests)
            asyncio.run(fanout.create_competitions(competitions.url, admin, more))
            competitions.stop()
            cache_args = argparse.Namespace(
                warmup=args.warmup,
                duration=args.duration,
                connections=32,
                competitions=args.competitions,
            )
            cached = fanout.measure_cache(
                platform_, cache_args, "cached", LITCOMP_REDIS_URL=redis.url
            )
            uncached = fanout.measure_cache(platform_, cache_args, "uncached")
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                fanout.print_cache({"cached": cached, "uncached": uncached}, cache_args)
            results.say("== cache" + text.getvalue().rstrip())
            results.parts["cache"] = {"cached": asdict(cached), "uncached": asdict(uncached)}


def fanout_summary(size: int, result: fanout.FanoutResult) -> dict[str, Any]:
    lasts = [r.last for r in result.results]
    firsts = [r.first for r in result.results]
    return {
        "sockets": size,
        "open": result.sockets,
        "connect_failures": result.connect_failures,
        "kib_per_socket": result.kib_per_socket,
        "idle_cpu_share": result.idle_cpu_share,
        "rounds": len(result.results),
        "last_p50_ms": fanout.percentile(lasts, 50) * 1000,
        "last_p99_ms": fanout.percentile(lasts, 99) * 1000,
        "first_p50_ms": fanout.percentile(firsts, 50) * 1000,
        "incomplete_rounds": sum(r.reached < result.sockets for r in result.results),
        "gaps": result.gaps,
        "lost_sockets": result.lost_sockets,
        "cpu_seconds_per_round": statistics.median(r.round.server_cpu for r in result.results)
        if result.results
        else None,
    }


# --- main ------------------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()}",
        "load_average_before": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
    }


def seconds(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 120:
        raise argparse.ArgumentTypeError("whole seconds, 1 to 120")
    return value


def warmup_seconds(text: str) -> int:
    return 0 if int(text) == 0 else seconds(text)


def levels(text: str) -> list[int]:
    values = [int(v) for v in text.split(",")]
    if not all(1 <= v <= 1024 for v in values):
        raise argparse.ArgumentTypeError("connections between 1 and 1024")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"from {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="smaller counts (~4 minutes)")
    # wrk takes whole seconds.
    parser.add_argument("--duration", type=seconds, help="seconds per wrk run (5; quick 2)")
    parser.add_argument(
        "--warmup", type=warmup_seconds, default=1, help="seconds of wrk before each (0: none)"
    )
    parser.add_argument("--rounds", type=int, help="proxies rounds (1)")
    parser.add_argument("--levels", type=levels, help="connections (1,2,4,...,256)")
    parser.add_argument("--sockets", type=levels, help="fan-out sizes (1000,5000,10000)")
    parser.add_argument("--fanout-rounds", type=int, help="measured entries per size (5)")
    parser.add_argument("--warmup-rounds", type=int, default=1)
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=fanout.IDLE_SECONDS,
        help="fan-out: how long the idle CPU share is measured (default: one safety poll)",
    )
    parser.add_argument("--likers", type=int, help="hot-entry likers (1000)")
    parser.add_argument("--competitions", type=int, default=50, help="for the cache part")
    parser.add_argument(
        "--writers", type=int, default=8, help="commenters, each on an entry of their own"
    )
    parser.add_argument("--delay-ms", type=int, default=100, help="the slowed replica's delay")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--time-limit", type=int, default=1500, help="seconds, then stop")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults: dict[str, Any] = {
        "duration": 2 if quick else 5,
        "rounds": 1,
        "levels": [1, 4, 16, 64, 256] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256],
        "sockets": [500, 1000, 2000] if quick else [1000, 5000, 10000],
        "fanout_rounds": 3 if quick else 5,
        "likers": 300 if quick else 1000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


def stop_on(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def needed_tools(parts: set[str]) -> list[str]:
    tools = ["postgres", "redis-server", "wrk"]
    if "proxies" in parts:
        tools.append("nginx")
    return missing_tools(*tools)


def main(argv: list[str] | None = None, *, handle_signals: bool = True) -> Path:
    """Run the parts; returns the results file. ``handle_signals``: TERM and
    ``--time-limit`` stop the run cleanly (off when a caller, such as pytest, owns them)."""
    args = parse_args(argv)
    parts = set(args.parts.split(","))
    missing = needed_tools(parts)
    if missing:
        raise SystemExit(install_hint(missing))
    fanout.raise_file_limit(max(args.sockets) + 2000 if "fanout" in parts else 4096)
    on_main_thread = handle_signals and threading.current_thread() is threading.main_thread()
    if on_main_thread:
        signal.signal(signal.SIGTERM, stop_on)
        signal.signal(signal.SIGALRM, stop_on)
        signal.alarm(args.time_limit)
    results = Results(machine_facts())
    results.say("\n".join(f"{k}: {v}" for k, v in results.facts.items()))
    began = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="litcomp-bench-") as temp,
            contextlib.ExitStack() as exits,
        ):
            workdir = Path(temp)
            cluster = PostgresCluster("bench", exits)
            cluster.start()
            redis = RedisServer(exits, workdir)
            redis.start()
            steps: list[tuple[str, Callable[[], None]]] = [
                ("proxies", lambda: part_proxies(args, results)),
                ("balancing", lambda: part_balancing(args, results, cluster, workdir)),
                (
                    "concurrency",
                    lambda: part_concurrency(args, results, cluster, redis, workdir),
                ),
                ("replicas", lambda: part_replicas(args, results, cluster, workdir)),
            ]
            for name, step in steps:
                if name in parts:
                    log("part: %s", name)
                    step()
            if parts & {"fanout", "likes", "cache"}:
                log("part: %s", ", ".join(p for p in PARTS if p in parts and p in PARTS[4:]))
                part_notifications(args, results, cluster, redis, workdir, parts)
    finally:
        if on_main_thread:
            signal.alarm(0)
    results.facts["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    results.facts["seconds"] = round(time.monotonic() - began)
    results.say(
        f"load average after: {' '.join(results.facts['load_average_after'])}; "
        f"{results.facts['seconds']} s in all"
    )
    return write(args, results)


def write(args: argparse.Namespace, results: Results) -> Path:
    folder: Path = args.output
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"bench-{stamp}.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    document = {"machine": results.facts, "settings": settings, "parts": results.parts}
    path.write_text(json.dumps(document, indent=2) + "\n")
    (folder / f"bench-{stamp}.txt").write_text("\n\n".join(results.report) + "\n")
    for png in plots.draw(results.parts, results.facts, folder):
        log("plot: %s", png)
    log("results: %s (and .txt)", path)
    return path


if __name__ == "__main__":
    main()
