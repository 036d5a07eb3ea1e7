"""What every benchmark measures with: wrk runs, CPU time from /proc, percentiles, a log.

wrk is run with one thread (``-t1``: the machine's few cores are the services'), its
latency distribution (``--latency``) and a 10 s timeout, so a slow answer is counted
as late rather than as an error.
"""

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str, *values: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] " + message % values, file=sys.stderr, flush=True)


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkRun:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors (timeouts included)


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


def run_wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def warm_up(url: str, seconds: float, connections: int, script: Path | None = None) -> None:
    """A wrk run whose figures are dropped (none for 0 s)."""
    if seconds:
        run_wrk(url, seconds, connections, script)


def point(run: WrkRun, **extra: Any) -> dict[str, Any]:
    """A wrk run's figures as the results file keeps them."""
    return {
        "requests_per_second": run.requests_per_second,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "requests": run.requests,
        "errors": run.errors,
        **extra,
    }


# --- CPU time ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU seconds (utime + stime) used so far by one process."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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
