"""Prometheus metrics every service exposes at ``/metrics``.

Labels stay bounded: routes are path templates (``/competitions/{competition_id}``),
never raw paths.
"""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

HTTP_REQUESTS = Counter(
    "litcomp_http_requests_total",
    "HTTP requests answered, by route and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "litcomp_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "method", "route"],
)
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
BALANCER_PICKS = Counter(
    "litcomp_balancer_picks_total",
    "Requests sent to each upstream instance.",
    ["caller", "upstream", "instance"],
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
