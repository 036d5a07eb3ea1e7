"""Prometheus metrics every service exposes at ``/metrics``.

Labels stay bounded: routes are path templates (``/competitions/{competition_id}``),
never raw paths.
"""

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

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
    ["service", "method", "code"],
)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
