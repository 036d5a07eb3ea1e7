"""`make bench`: every benchmark of the platform in one run, with a results file and plots.

Usage::

    .venv/bin/python -m bench.run                     # everything, ~9 minutes
    .venv/bin/python -m bench.run --quick             # smaller counts, ~4 minutes
    .venv/bin/python -m bench.run --parts concurrency,replicas --duration 3

Everything runs on 127.0.0.1 and is started and stopped by this run (error, Ctrl-C,
TERM or ``--time-limit`` included): a private PostgreSQL cluster (``initdb`` in a
temporary directory, a free port; each part makes its own databases in it), a private
``redis-server``, and ``litcomp serve`` processes. Load comes from ``wrk`` (HTTP) and
from bench/ws_clients.py processes (WebSockets). The parts, in order, each measured by
a module of bench/ that is a library of this command:

- ``proxies`` (bench/proxies.py): the gateway against nginx and direct, on the real
  path (GET /competitions of one instance) and on a static upstream (each proxy's
  ceiling), ``--rounds`` rounds, medians.
- ``floor`` (bench/floor.py): a competitions replica's CPU per request on its main reads
  and writes against a minimal FastAPI app answering the same bytes (the framework's
  floor), ``--rounds`` rounds of each in turn, medians; the statements and Redis
  commands per request, and with ``--profile`` where the CPU goes (py-spy,
  bench/where.py).
- ``balancing``, ``concurrency``, ``replicas``, ``cache``, ``entries``
  (bench/http_load.py): round robin against least load with one of three replicas
  ``--delay-ms`` late; requests/s and p50/p99 against 1 to 256 connections for the main
  read and write; 1, 2 and 3 competitions replicas; cached against uncached GET
  /competitions; an edit and a draft save against a submit of the same text. This machine has
  2 cores shared by wrk, the gateway, the replicas and PostgreSQL, so past two
  replicas the machine, not the design, is the limit.
- ``fanout``, ``likes`` (bench/fanout.py): ``--sockets`` (1k, 5k, 10k) subscribers on
  sockets held by ONE competitions instance, latency from an entry to its notice at
  the last socket and memory per idle socket; ``--likers`` users like one entry at once.
- ``judging`` (bench/judging.py): finalizing ``--judging-entries`` entries placed by
  ``--judging-ballots`` ranked ballots (Bradley-Terry) against the same placed by likes.
- ``search`` (bench/search.py): searching ``--search-entries`` entries (full-text
  search on PostgreSQL), ``--search-runs`` times per kind of query, against ILIKE.

The results go to ``--output`` (bench/results): ``bench-<UTC time>.json`` (every
figure), ``bench-<UTC time>.txt`` (the report printed) and one PNG per part that
has a plot (``bench-<part>.png``, replaced by each run: bench/README.md shows them).
"""

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fanout, floor, http_load, judging, plots, proxies, search
from bench.measure import log
from bench.stack import PostgresCluster, RedisServer, install_hint, missing_tools
from litcomp.gateway.process import hot_path_compiled

RESULTS = Path(__file__).with_name("results")
PARTS = (
    "proxies",
    "floor",
    "balancing",
    "concurrency",
    "replicas",
    "cache",
    "entries",
    "fanout",
    "likes",
    "judging",
    "search",
)


@dataclass
class Results:
    facts: dict[str, Any]
    parts: dict[str, Any] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.report.append(text)

    def add(self, name: str, report: str, figures: Any) -> None:
        self.say(report)
        self.parts[name] = figures


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
        "gateway": "compiled with mypyc" if hot_path_compiled() else "interpreted (make compile)",
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
    parser.add_argument("--rounds", type=int, help="proxies and floor rounds (1)")
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
    parser.add_argument(
        "--entrants", type=int, default=32, help="entries-part writers, each a turn in wrk"
    )
    parser.add_argument(
        "--profile", action="store_true", help="floor: where each route's CPU goes (py-spy)"
    )
    parser.add_argument("--delay-ms", type=int, default=100, help="the slowed replica's delay")
    parser.add_argument("--judging-entries", type=int, default=2000, help="ranked entries")
    parser.add_argument("--judging-ballots", type=int, default=50_000, help="ranked ballots")
    parser.add_argument("--search-entries", type=int, help="entries searched (100,000)")
    parser.add_argument("--search-runs", type=int, default=200, help="runs per search query")
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
        "search_entries": 20_000 if quick else 100_000,
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
    tools = ["postgres", "redis-server"]
    if parts - {"judging", "search"}:  # every other part loads the platform with wrk
        tools.append("wrk")
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
            steps: dict[str, Callable[[], tuple[str, Any]]] = {
                "proxies": lambda: proxies.part(args.rounds, args.warmup, args.duration, redis.url),
                "floor": lambda: floor.part(args, cluster, redis, workdir),
                "balancing": lambda: http_load.balancing(args, cluster, workdir),
                "concurrency": lambda: http_load.concurrency(args, cluster, redis, workdir),
                "replicas": lambda: http_load.replicas(args, cluster, workdir),
                "cache": lambda: http_load.cache(args, cluster, redis, workdir),
                "entries": lambda: http_load.entries(args, cluster, workdir),
            }
            for name, step in steps.items():
                if name in parts:
                    log("part: %s", name)
                    results.add(name, *step())
            if parts & {"fanout", "likes"}:
                with fanout.seeded(args, cluster, redis.url, workdir) as seeded:
                    if "fanout" in parts:
                        log("part: fanout")
                        results.add("fanout", *fanout.fan_out(args, seeded))
                    if "likes" in parts:
                        log("part: likes")
                        results.add("likes", *fanout.likes(args, seeded))
            if "judging" in parts:
                log("part: judging")
                results.add("judging", *judging.part(args, cluster))
            if "search" in parts:
                log("part: search")
                results.add("search", *search.part(args, cluster))
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
