"""Prometheus metrics every service exposes at ``/metrics``.

Labels stay bounded: routes are path templates (``/competitions/{competition_id}``),
never raw paths.
"""

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric


class RequestMetrics:
    """Every HTTP request answered, counted and timed: ``litcomp_http_requests_total``
    and ``litcomp_http_request_duration_seconds``.

    Kept as plain counts in dicts and turned into Prometheus samples only when
    ``/metrics`` is read: prometheus_client's Counter and Histogram take a lock per
    update and walk the buckets, ~4 us per request, a tenth of the gateway's whole
    cost of proxying one. Updates come from the event loop's thread only; a scrape
    copies before it reads.
    """

    def __init__(self, buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS) -> None:
        self._bounds = tuple(bound for bound in buckets if bound != float("inf"))
        self._series: dict[tuple[str, str, str], _Series] = {}  # by service, method, route

    def observe(self, service: str, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((service, method, route))
        if series is None:
            series = self._series[service, method, route] = _Series(len(self._bounds) + 1)
        series.statuses[status] = series.statuses.get(status, 0) + 1
        series.buckets[bisect_left(self._bounds, seconds)] += 1  # buckets are "less or equal"
        series.seconds += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "litcomp_http_requests",
            "HTTP requests answered, by route and status.",
            labels=["service", "method", "route", "status"],
        )
        latency = HistogramMetricFamily(
            "litcomp_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels=["service", "method", "route"],
        )
        bounds = [*map(str, self._bounds), "+Inf"]
        for labels, series in self._series.copy().items():
            for status, count in series.statuses.copy().items():
                requests.add_metric([*labels, str(status)], count)
            cumulative = accumulate(series.buckets)
            latency.add_metric(
                list(labels), list(zip(bounds, cumulative, strict=True)), series.seconds
            )
        yield requests
        yield latency


class _Series:
    """One (service, method, route)'s requests: a count per status, per latency bucket
    (+Inf's last), and their total time."""

    __slots__ = ("buckets", "seconds", "statuses")

    def __init__(self, buckets: int) -> None:
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * buckets
        self.seconds = 0.0


HTTP = RequestMetrics()
REGISTRY.register(HTTP)
GRPC_SERVER_CALLS = Counter(
    "litcomp_grpc_server_calls_total",
    "gRPC calls served, by method and status code.",
    ["service", "method", "code"],
)
GRPC_CLIENT_CALLS = Counter(
    "litcomp_grpc_client_calls_total",
    "gRPC calls made to other services, by method and status code.",
    ["caller", "upstream", "method", "code"],
)
BREAKER_STATE = Gauge(
    "litcomp_breaker_state",
    "Circuit breaker state per upstream instance: 0 closed, 1 half-open, 2 open.",
    ["caller", "upstream", "instance"],
)
BREAKER_TRANSITIONS = Counter(
    "litcomp_breaker_transitions_total",
    "Circuit breaker state changes per upstream instance.",
    ["caller", "upstream", "instance", "from_state", "to_state"],
)
DB_POOL = Gauge(
    "litcomp_db_pool_connections",
    "Database connections of this instance's pool: in use, idle, and the pool's size.",
    ["service", "state"],
)
WEBSOCKETS = Gauge("litcomp_websockets", "WebSocket connections held by this instance.")
NOTIFICATION_LAG = Histogram(
    "litcomp_notification_delivery_seconds",
    "From a notification's commit to its hand-off to a socket.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "litcomp_cache_lookups_total", "Cache lookups by cache and outcome.", ["cache", "outcome"]
)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The method as a label: any other token a client invents counts as OTHER."""
    return method if method in _METHODS else "OTHER"


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
