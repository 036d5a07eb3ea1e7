"""The litcomp gateway against nginx, as proxies for GET /competitions, in one run.

Method
------
Everything runs on 127.0.0.1, on free ports, from a temporary directory that is
removed at the end; every process started is stopped at the end, error or not:

- discovery and ONE competitions instance (embedded SQLite in the temporary
  directory, so no PostgreSQL; GET /competitions needs no users instance);
- the litcomp gateway, rate limits raised out of the way, logging at WARNING;
- nginx as a proxy (Debian's package, configured here: one worker, no access log,
  upstream keepalive, and the same per-request work the gateway does where nginx
  has it: X-Forwarded-*, a request id both ways, a per-client rate limit);
- a second nginx serving a small static JSON body: the "static upstream". Each
  proxy is also measured against it, which shows the proxy's own ceiling, with
  no Python upstream competing for the CPU. For the gateway that takes a second
  discovery + gateway pair whose only competitions instance is the static upstream,
  registered by hand, so the real pair never sees it. With a Redis on 127.0.0.1:6379, a
  third gateway beside it, its rate limits shared through Redis as on Compose and
  Kubernetes (``gateway+redis->static``): what that round trip per request costs.

Each target gets a warm-up, then a measured ``wrk`` run (requests/sec, latency p50
and p99). Around the measured run the CPU time (utime + stime, from /proc) of the
proxy's and the upstream's whole process trees (nginx's master and worker) is read,
giving CPU seconds per request. Targets are measured in turn, ``--rounds`` times,
and each figure is the median over the rounds.

The load generator, the proxy and the upstream share this machine's cores, so the
proxy's CPU per request also costs the upstream throughput on the real path.
"""

import argparse
import contextlib
import operator
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import HUGE_RATE, Stack, Started, redis_answers, start, wait_until
from litcomp.launcher import free_port, get_json

HOST = "127.0.0.1"
PATH = "/competitions"
STATIC_BODY = '{"source":"static upstream","competitions":[]}'
INSTALL_HINT = "sudo apt-get install -y nginx-light wrk   (or: nginx wrk)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LEASE_SECONDS = 300  # the longest lease discovery grants
STATIC_ID = "static-upstream"  # the static upstream's instance id, registered by hand
REDIS_URL = "redis://127.0.0.1:6379/0"


# --- tools -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tools:
    nginx: str
    wrk: str


def find_tools() -> Tools:
    """nginx and wrk, or exit saying how to install them (nginx is in /usr/sbin)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    wrk = shutil.which("wrk")
    missing = [name for name, found in (("nginx", nginx), ("wrk", wrk)) if not found]
    if nginx is None or wrk is None:
        raise SystemExit(f"missing: {', '.join(missing)}; install with:\n  {INSTALL_HINT}")
    return Tools(nginx=nginx, wrk=wrk)


def version_of(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0].split(" Copyright")[0]


# --- processes -------------------------------------------------------------------------


# --- nginx -----------------------------------------------------------------------------


def nginx_conf(workdir: Path, name: str, http_block: str) -> Path:
    """A complete nginx.conf of one master and one worker, everything under ``workdir``."""
    temp = workdir / f"{name}-temp"
    temp.mkdir()
    conf = workdir / f"{name}.conf"
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {workdir}/{name}.pid;
error_log {workdir}/{name}.error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{http_block}
}}
""")
    return conf


def static_server(port: int) -> str:
    return f"""
    server {{
        listen {HOST}:{port};
        location / {{
            default_type application/json;
            return 200 '{STATIC_BODY}';
        }}
    }}
"""


def proxy_server(name: str, port: int, upstream: int) -> str:
    """A server proxying to one upstream, doing what the gateway does for each request."""
    return f"""
    upstream {name} {{
        server {HOST}:{upstream};
        keepalive 64;
    }}
    server {{
        listen {HOST}:{port};
        location / {{
            limit_req zone=per_client burst={HUGE_RATE} nodelay;
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-ID $request_id;
            add_header X-Request-ID $request_id always;
            proxy_connect_timeout 5s;
            proxy_read_timeout 5s;
            proxy_send_timeout 5s;
        }}
    }}
"""


def start_nginx(
    stack: contextlib.ExitStack, workdir: Path, tools: Tools, name: str, http_block: str, port: int
) -> Started:
    conf = nginx_conf(workdir, name, http_block)
    command = [
        tools.nginx,
        "-p",
        str(workdir),
        "-c",
        str(conf),
        "-e",
        f"{workdir}/{name}.error.log",
    ]
    started = start(stack, workdir, name, command, os.environ)
    wait_until(lambda: http_ok(f"http://{HOST}:{port}{PATH}"), started)
    return started


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# --- measuring -------------------------------------------------------------------------


def process_tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and every live descendant (and reaped children)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process has just gone
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks[pid] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    family = {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in family}
        grew = not children <= family
        family |= children
    return sum(ticks.get(pid, 0) for pid in family) / CLOCK_TICKS


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    proxy: int | None
    upstream: int
    before_each: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Sample:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    proxy_us_per_request: float | None
    upstream_us_per_request: float
    errors: int


@dataclass(frozen=True)
class WrkRun:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency_ms(output: str, percentile: str) -> float:
    found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if found is None:
        raise ValueError(f"no p{percentile} in wrk's output:\n{output}")
    return float(found[1]) * _UNITS_MS[found[2]]


def parse_wrk(output: str) -> WrkRun:
    requests = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if requests is None or rate is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return WrkRun(
        requests=int(requests[1]),
        requests_per_second=float(rate[1]),
        p50_ms=_latency_ms(output, "50"),
        p99_ms=_latency_ms(output, "99"),
        errors=errors,
    )


def wrk(tools: Tools, url: str, seconds: float, connections: int) -> WrkRun:
    command = [tools.wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def measure(target: Target, tools: Tools, args: argparse.Namespace) -> Sample:
    target.before_each()
    if args.warmup:
        wrk(tools, target.url, args.warmup, args.connections)
    roots = {"proxy": target.proxy, "upstream": target.upstream}
    before = {role: process_tree_cpu(pid) for role, pid in roots.items() if pid is not None}
    run = wrk(tools, target.url, args.duration, args.connections)
    used = {
        role: process_tree_cpu(pid) - before[role] for role, pid in roots.items() if pid is not None
    }
    per_request = {role: seconds * 1e6 / max(run.requests, 1) for role, seconds in used.items()}
    return Sample(
        requests=run.requests,
        requests_per_second=run.requests_per_second,
        p50_ms=run.p50_ms,
        p99_ms=run.p99_ms,
        proxy_us_per_request=per_request.get("proxy"),
        upstream_us_per_request=per_request["upstream"],
        errors=run.errors,
    )


def median_sample(samples: list[Sample]) -> Sample:
    proxies = [s.proxy_us_per_request for s in samples if s.proxy_us_per_request is not None]
    return Sample(
        requests=sum(s.requests for s in samples),
        requests_per_second=statistics.median(s.requests_per_second for s in samples),
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        proxy_us_per_request=statistics.median(proxies) if proxies else None,
        upstream_us_per_request=statistics.median(s.upstream_us_per_request for s in samples),
        errors=sum(s.errors for s in samples),
    )


# --- the platform under test -----------------------------------------------------------


def register_static(discovery_url: str, static_port: int) -> None:
    """(Re-)register the static upstream as a competitions instance, lease renewed."""
    registration = {
        "service": "competitions",
        "instance_id": STATIC_ID,
        "host": HOST,
        "http_port": static_port,
    }
    if get_json(f"{discovery_url}/discovery/instances", registration) is None:
        raise SystemExit(f"discovery at {discovery_url} refused {registration}")


def folder(workdir: Path, name: str) -> Path:
    (workdir / name).mkdir()
    return workdir / name


@contextlib.contextmanager
def everything(tools: Tools) -> Iterator[list[Target]]:
    """Start every process; yield the targets to measure; stop them all, error or not."""
    with (
        tempfile.TemporaryDirectory(prefix="litcomp-bench-") as temp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(temp)
        static_port, nginx_real, nginx_static = free_port(), free_port(), free_port()
        static = start_nginx(
            stack, workdir, tools, "static-upstream", static_server(static_port), static_port
        )

        real = Stack(stack, folder(workdir, "real"), {})
        real.start_discovery()
        competitions = real.add_replica("competitions")
        competitions_port = int(competitions.registration["http_port"])
        gateway = real.start_gateway()
        gateway_url = real.url

        # Its registration is not heartbeated: it is renewed before each run, within the TTL.
        ceiling_stack = Stack(
            stack,
            folder(workdir, "ceiling"),
            {"LITCOMP_DISCOVERY_TTL_SECONDS": str(LEASE_SECONDS)},
        )
        ceiling_stack.start_discovery()
        ceiling_discovery = ceiling_stack.discovery_url
        register_static(ceiling_discovery, static_port)
        ceiling_stack.extra_instances["competitions"] = {STATIC_ID}
        ceiling = ceiling_stack.start_gateway()
        ceiling_url = ceiling_stack.url
        # The same, its rate limits shared through Redis (as on Compose and Kubernetes):
        # a Redis round trip per request. Keys under a prefix of this run's, expiring in
        # seconds (the script's own TTL); no target without a Redis to talk to.
        shared: list[Target] = []
        if redis_answers(6379):
            redis_stack = Stack(
                stack,
                folder(workdir, "ceiling-redis"),
                {
                    "LITCOMP_DISCOVERY_URL": ceiling_discovery,
                    "LITCOMP_REDIS_URL": REDIS_URL,
                    "LITCOMP_REDIS_PREFIX": f"litcomp-bench-{os.getpid()}",
                },
            )
            redis_stack.extra_instances["competitions"] = {STATIC_ID}
            shared_gateway = redis_stack.start_gateway()
            shared.append(
                Target(
                    "gateway+redis->static",
                    redis_stack.url + PATH,
                    shared_gateway.pid,
                    static.pid,
                    lambda: register_static(ceiling_discovery, static_port),
                )
            )

        http_block = (
            f"    limit_req_zone $binary_remote_addr zone=per_client:1m rate={HUGE_RATE}r/s;\n"
            + proxy_server("competitions", nginx_real, competitions_port)
            + proxy_server("static", nginx_static, static_port)
        )
        nginx = start_nginx(stack, workdir, tools, "nginx", http_block, nginx_real)

        yield [
            Target("direct", f"http://{HOST}:{competitions_port}{PATH}", None, competitions.pid),
            Target("gateway", gateway_url + PATH, gateway.pid, competitions.pid),
            Target("nginx", f"http://{HOST}:{nginx_real}{PATH}", nginx.pid, competitions.pid),
            Target(
                "gateway->static",
                ceiling_url + PATH,
                ceiling.pid,
                static.pid,
                lambda: register_static(ceiling_discovery, static_port),
            ),
            Target("nginx->static", f"http://{HOST}:{nginx_static}{PATH}", nginx.pid, static.pid),
            *shared,
        ]


# --- report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    label: str
    numerator: str
    denominator: str
    metric: Callable[[Sample], float | None]
    goal: str | None = None  # the target, such as ">= 1.0"

    def value(self, results: Mapping[str, Sample]) -> float:
        numerator = self.metric(results[self.numerator])
        denominator = self.metric(results[self.denominator])
        assert numerator is not None and denominator is not None
        return numerator / denominator

    def verdict(self, value: float) -> str:
        if self.goal is None:
            return ""
        comparison, bound = self.goal.split()
        met = COMPARISONS[comparison](value, float(bound))
        return f"target {self.goal}: {'met' if met else 'MISSED'}"


COMPARISONS = {">=": operator.ge, "<=": operator.le}


def throughput(sample: Sample) -> float:
    return sample.requests_per_second


def proxy_cpu(sample: Sample) -> float | None:
    return sample.proxy_us_per_request


RATIOS = (
    Ratio("real path req/s", "gateway", "nginx", throughput, ">= 1.0"),
    Ratio("ceiling req/s", "gateway->static", "nginx->static", throughput, ">= 0.3"),
    Ratio("CPU/request, real path", "gateway", "nginx", proxy_cpu, "<= 2.5"),
    Ratio("CPU/request, ceiling", "gateway->static", "nginx->static", proxy_cpu, "<= 2.5"),
    Ratio("gateway vs direct req/s", "gateway", "direct", throughput),
    Ratio("CPU, Redis limits/local", "gateway+redis->static", "gateway->static", proxy_cpu),
)


def machine_facts(tools: Tools) -> list[str]:
    from litcomp import compiled  # as the processes started here will find it

    mode = "compiled with mypyc" if compiled.active() else "interpreted (make compile)"
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return [
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()}",
        f"load:    {Path('/proc/loadavg').read_text().split()[0]} (1-minute load average before)",
        f"python:  {platform.python_version()}; the gateway {mode}",
        f"nginx:   {version_of([tools.nginx, '-v'])}",
        f"wrk:     {version_of([tools.wrk, '--version'])}",
    ]


def microseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_report(results: Mapping[str, Sample], args: argparse.Namespace, facts: list[str]) -> None:
    print("\n".join(facts))
    print(
        f"run:     wrk -t1 -c{args.connections} -d{args.duration:g}s --latency "
        f"(after {args.warmup:g}s warm-up), GET {PATH}, median of {args.rounds} round(s)\n"
    )
    print(
        f"{'target':<21} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'proxy CPU us/req':>16} {'upstream CPU us/req':>19} {'errors':>6}"
    )
    for name, s in results.items():
        print(
            f"{name:<21} {s.requests_per_second:>9.0f} {s.p50_ms:>7.2f} {s.p99_ms:>7.2f} "
            f"{microseconds(s.proxy_us_per_request):>16} "
            f"{microseconds(s.upstream_us_per_request):>19} {s.errors:>6}"
        )
    print()
    for ratio in RATIOS:
        if ratio.numerator not in results:
            continue  # a target this run could not have (no Redis)
        value = ratio.value(results)
        print(f"{ratio.label:<24} {value:6.2f}x   {ratio.verdict(value)}".rstrip())
    for name, s in results.items():
        if s.errors:
            print(
                f"note: {name}: {s.errors} of {s.requests} requests failed or took over "
                "wrk's 2s timeout (errors: non-2xx/3xx answers and socket errors, all rounds)"
            )


# --- main ------------------------------------------------------------------------------


def bounded(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=bounded(1, 120), default=8, help="seconds per run")
    parser.add_argument("--warmup", type=bounded(0, 30), default=2, help="seconds before each")
    parser.add_argument("--rounds", type=int, choices=range(1, 6), default=3, metavar="1-5")
    parser.add_argument("--connections", type=int, choices=range(1, 257), default=32, metavar="N")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # A TERM stops the run as Ctrl-C does: through the clean-up, stopping every process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tools = find_tools()
    facts = machine_facts(tools)
    samples: dict[str, list[Sample]] = {}
    with everything(tools) as targets:
        for round_ in range(1, args.rounds + 1):
            for target in targets:
                print(f"round {round_}/{args.rounds}: {target.name}", file=sys.stderr, flush=True)
                samples.setdefault(target.name, []).append(measure(target, tools, args))
    print_report({name: median_sample(each) for name, each in samples.items()}, args, facts)


if __name__ == "__main__":
    main()
