"""The PNG plots of `make bench`, drawn with matplotlib from the results of bench/run.py.

``draw(parts, facts, folder)`` writes one ``bench-<part>.png`` per part that has
figures to plot and returns their paths. Each plot's title says the date, the load
average and the commit, since the numbers depend on what else the machine was doing.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _caption(facts: Mapping[str, Any]) -> str:
    load = " ".join(facts.get("load_average_before", []))
    return f"{facts.get('date', '')}, commit {facts.get('commit', '?')}, load average {load}"


def _save(figure: Figure, folder: Path, name: str, facts: Mapping[str, Any]) -> Path:
    figure.text(0.99, 0.005, _caption(facts), ha="right", va="bottom", fontsize=7, color="0.4")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    path = folder / f"bench-{name}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _sweep(axes: Axes, rows: list[dict[str, Any]], what: str) -> None:
    connections = [row["connections"] for row in rows]
    axes.plot(connections, [row["requests_per_second"] for row in rows], "o-", color="C0")
    axes.set_xscale("log", base=2)
    axes.set_xticks(connections, [str(c) for c in connections])
    axes.set_xlabel("connections")
    axes.set_ylabel("requests/s", color="C0")
    axes.set_ylim(bottom=0)
    axes.set_title(what)
    latency = axes.twinx()
    latency.plot(connections, [row["p50_ms"] for row in rows], "s--", color="C1", label="p50")
    latency.plot(connections, [row["p99_ms"] for row in rows], "^--", color="C3", label="p99")
    latency.set_yscale("log")
    latency.set_ylabel("latency, ms (log)")
    latency.legend(loc="upper left", fontsize=8)


def concurrency(parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path) -> Path:
    sweep = parts["concurrency"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _sweep(left, sweep["read"], "read: GET /competitions (cached)")
    _sweep(right, sweep["write"], "write: POST a comment")
    figure.suptitle("Through the gateway, two competitions replicas: throughput and latency")
    return _save(figure, folder, "concurrency", facts)


def replicas(parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path) -> Path:
    rows = parts["replicas"]
    counts = [row["replicas"] for row in rows]
    figure, axes = plt.subplots(figsize=(6.5, 4))
    width = 0.38
    for offset, kind, colour in ((-width / 2, "read", "C0"), (width / 2, "write", "C2")):
        values = [row[kind]["requests_per_second"] for row in rows]
        bars = axes.bar([c + offset for c in counts], values, width, label=kind, color=colour)
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    axes.set_xticks(counts)
    axes.set_xlabel("competitions replicas (2 CPU cores in all)")
    axes.set_ylabel("requests/s")
    axes.set_title("1, 2, 3 replicas behind the gateway, no cache (wrk -c32)")
    axes.legend()
    return _save(figure, folder, "replicas", facts)


def fanout(parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path) -> Path:
    rows = parts["fanout"]
    sockets = [row["sockets"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(sockets, [row["last_p50_ms"] for row in rows], "o-", label="last socket, p50")
    left.plot(sockets, [row["last_p99_ms"] for row in rows], "^-", label="last socket, p99")
    left.plot(sockets, [row["first_p50_ms"] for row in rows], "s--", label="first socket, p50")
    left.axhline(1000, color="0.6", linestyle=":", label="target p99 < 1 s (10k)")
    left.set_xlabel("sockets on one competitions instance")
    left.set_ylabel("ms from the entry's answer")
    left.set_ylim(bottom=0)
    left.set_title("Notice of a new entry at every subscriber")
    left.legend(fontsize=8)
    right.bar([str(s) for s in sockets], [row["kib_per_socket"] for row in rows], color="C4")
    right.axhline(20, color="0.6", linestyle=":", label="target < 20 KiB")
    right.set_xlabel("sockets")
    right.set_ylabel("KiB of RSS per idle socket")
    right.set_title("Memory per idle socket")
    right.legend(fontsize=8)
    return _save(figure, folder, "fanout", facts)


def comparisons(parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path) -> Path:
    """The side-by-side parts: proxies, balancing, cache (those present), one panel each."""
    panels = [name for name in ("proxies", "balancing", "cache") if name in parts]
    figure, axes_list = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2))
    axes_row = [axes_list] if len(panels) == 1 else list(axes_list)
    for axes, name in zip(axes_row, panels, strict=True):
        if name == "proxies":
            targets = parts["proxies"]["targets"]
            names = list(targets)
            bars = axes.bar(names, [targets[n]["requests_per_second"] for n in names])
            axes.set_yscale("log")
            axes.set_title("Proxies: GET /competitions, wrk -c32")
            axes.tick_params(axis="x", labelrotation=25, labelsize=8)
        elif name == "balancing":
            policies = parts["balancing"]["policies"]
            names = list(policies)
            bars = axes.bar(names, [policies[n]["requests_per_second"] for n in names])
            for bar, policy in zip(bars, names, strict=True):
                share = policies[policy]["slowed_share"]
                p99 = policies[policy]["p99_ms"]
                axes.annotate(
                    f"p99 {p99:.0f} ms\n{share:.0%} to the slow one",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height() / 2),
                    ha="center",
                    fontsize=8,
                    color="white",
                )
            delay = parts["balancing"]["delay_ms"]
            axes.set_title(f"Balancers, one of 3 replicas {delay} ms slower")
        else:
            cache = parts["cache"]
            names = ["cached", "uncached"]
            bars = axes.bar(names, [cache[n]["requests_per_second"] for n in names])
            axes.set_title("GET /competitions, 2 replicas, Redis cache or not")
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
        axes.set_ylabel("requests/s")
    return _save(figure, folder, "comparisons", facts)


def floor(
    parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path, name: str = "floor"
) -> Path:
    rows = parts["floor"]["routes"]
    labels = [f"{row['route']} ({row['kind']})" for row in rows]
    figure, axes = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.4))
    places = range(len(rows))
    replica = axes.barh(
        [p + 0.2 for p in places], [r["replica_cpu_us"] for r in rows], 0.4, label="replica"
    )
    axes.barh(
        [p - 0.2 for p in places],
        [r.get("floor_cpu_us", 0) for r in rows],
        0.4,
        label="floor (same bytes)",
        color="0.6",
    )
    notes = [f"{r['ratio']:.1f}x" if "ratio" in r else "" for r in rows]
    axes.bar_label(replica, labels=notes, fontsize=8, padding=2)
    axes.set_yticks(list(places), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("CPU per request, us (log)")
    axes.set_title("A competitions replica against its floor: CPU per request (PostgreSQL)")
    axes.legend(fontsize=8, loc="upper right")
    return _save(figure, folder, name, facts)


def draw(parts: Mapping[str, Any], facts: Mapping[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    if "concurrency" in parts:
        drawn.append(concurrency(parts, facts, folder))
    if "replicas" in parts:
        drawn.append(replicas(parts, facts, folder))
    if "floor" in parts:
        drawn.append(floor(parts, facts, folder))
    if parts.get("fanout"):
        drawn.append(fanout(parts, facts, folder))
    if any(name in parts for name in ("proxies", "balancing", "cache")):
        drawn.append(comparisons(parts, facts, folder))
    return drawn
