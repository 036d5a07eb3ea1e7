"""The ``proxies`` part of `make bench`: the litcomp gateway against nginx, as proxies
for GET /competitions.

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
  registered by hand, so the real pair never sees it. A third gateway beside it has
  its rate limits shared through the run's Redis, as on Compose and Kubernetes
  (``gateway+redis->static``): what that round trip per request costs.

Each target gets a warm-up, then a measured ``wrk`` run (requests/sec, latency p50
and p99). Around the measured run the CPU time (utime + stime, from /proc) of the
proxy's and the upstream's whole process trees (nginx's master and worker) is read,
giving CPU seconds per request. Targets are measured in turn, ``--rounds`` times,
and each figure is the median over the rounds.

The load generator, the proxy and the upstream share this machine's cores, so the
proxy's CPU per request also costs the upstream throughput on the real path.
"""

import contextlib
import operator
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.measure import log, process_tree_cpu, run_wrk, warm_up
from bench.stack import HUGE_RATE, Stack, Started, start, wait_until
from litcomp.launcher import free_port, get_json

HOST = "127.0.0.1"
PATH = "/competitions"
STATIC_BODY = '{"source":"static upstream","competitions":[]}'
CONNECTIONS = 32
LEASE_SECONDS = 300  # the longest lease discovery grants
STATIC_ID = "static-upstream"  # the static upstream's instance id, registered by hand


# --- nginx -----------------------------------------------------------------------------


def nginx_binary() -> str:
    """Debian's nginx is in /usr/sbin, which may not be on PATH (run.py checks it exists)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    assert found is not None
    return found


def version_of(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0].split(" Copyright")[0]


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
    stack: contextlib.ExitStack, workdir: Path, name: str, http_block: str, port: int
) -> Started:
    conf = nginx_conf(workdir, name, http_block)
    command = [
        nginx_binary(),
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
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# --- measuring -------------------------------------------------------------------------


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


def measure(target: Target, warmup: float, duration: float) -> Sample:
    target.before_each()
    warm_up(target.url, warmup, CONNECTIONS)
    roots = {"proxy": target.proxy, "upstream": target.upstream}
    before = {role: process_tree_cpu(pid) for role, pid in roots.items() if pid is not None}
    run = run_wrk(target.url, duration, CONNECTIONS)
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
def everything(redis_url: str) -> Iterator[list[Target]]:
    """Start every process; yield the targets to measure; stop them all, error or not."""
    with (
        tempfile.TemporaryDirectory(prefix="litcomp-bench-") as temp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(temp)
        static_port, nginx_real, nginx_static = free_port(), free_port(), free_port()
        static = start_nginx(
            stack, workdir, "static-upstream", static_server(static_port), static_port
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
        # a Redis round trip per request.
        redis_stack = Stack(
            stack,
            folder(workdir, "ceiling-redis"),
            {
                "LITCOMP_DISCOVERY_URL": ceiling_discovery,
                "LITCOMP_REDIS_URL": redis_url,
                "LITCOMP_REDIS_PREFIX": "benchp",
            },
        )
        redis_stack.extra_instances["competitions"] = {STATIC_ID}
        shared_gateway = redis_stack.start_gateway()

        http_block = (
            f"    limit_req_zone $binary_remote_addr zone=per_client:1m rate={HUGE_RATE}r/s;\n"
            + proxy_server("competitions", nginx_real, competitions_port)
            + proxy_server("static", nginx_static, static_port)
        )
        nginx = start_nginx(stack, workdir, "nginx", http_block, nginx_real)

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
            Target(
                "gateway+redis->static",
                redis_stack.url + PATH,
                shared_gateway.pid,
                static.pid,
                lambda: register_static(ceiling_discovery, static_port),
            ),
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
    Ratio("ceiling req/s", "gateway->static", "nginx->static", throughput, ">= 0.5"),
    Ratio("CPU/request, real path", "gateway", "nginx", proxy_cpu, "<= 2.2"),
    Ratio("CPU/request, ceiling", "gateway->static", "nginx->static", proxy_cpu, "<= 2.2"),
    Ratio("gateway vs direct req/s", "gateway", "direct", throughput),
    Ratio("CPU, Redis limits/local", "gateway+redis->static", "gateway->static", proxy_cpu),
)


def microseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(results: Mapping[str, Sample], warmup: float, duration: float, rounds: int) -> str:
    lines = [
        "== proxies: the gateway, nginx and direct",
        f"run:     wrk -t1 -c{CONNECTIONS} -d{duration:g}s --latency "
        f"(after {warmup:g}s warm-up), GET {PATH}, median of {rounds} round(s)",
        f"nginx:   {version_of([nginx_binary(), '-v'])}",
        "",
        f"{'target':<21} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'proxy CPU us/req':>16} {'upstream CPU us/req':>19} {'errors':>6}",
    ]
    for name, s in results.items():
        lines.append(
            f"{name:<21} {s.requests_per_second:>9.0f} {s.p50_ms:>7.2f} {s.p99_ms:>7.2f} "
            f"{microseconds(s.proxy_us_per_request):>16} "
            f"{microseconds(s.upstream_us_per_request):>19} {s.errors:>6}"
        )
    lines.append("")
    for ratio in RATIOS:
        value = ratio.value(results)
        lines.append(f"{ratio.label:<24} {value:6.2f}x   {ratio.verdict(value)}".rstrip())
    for name, s in results.items():
        if s.errors:
            lines.append(
                f"note: {name}: {s.errors} of {s.requests} requests failed or took over "
                "wrk's 10s timeout (errors: non-2xx/3xx answers and socket errors, all rounds)"
            )
    return "\n".join(lines)


# --- the part ----------------------------------------------------------------------------


def part(rounds: int, warmup: float, duration: float, redis_url: str) -> tuple[str, dict[str, Any]]:
    """Every target in turn, ``rounds`` times; the report and the figures (medians)."""
    samples: dict[str, list[Sample]] = {}
    with everything(redis_url) as targets:
        for round_ in range(rounds):
            for target in targets:
                log("proxies: round %d: %s", round_ + 1, target.name)
                samples.setdefault(target.name, []).append(measure(target, warmup, duration))
    medians = {name: median_sample(each) for name, each in samples.items()}
    figures = {
        "targets": {name: asdict(sample) for name, sample in medians.items()},
        "ratios": {ratio.label: ratio.value(medians) for ratio in RATIOS},
        "nginx": version_of([nginx_binary(), "-v"]),
    }
    return report(medians, warmup, duration, rounds), figures
