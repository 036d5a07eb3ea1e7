"""Forwarding one request to one healthy instance, retrying only where it is safe.

A request goes to the instance the balancer picks among those whose breaker admits
it. It is retried once, on another instance, when that cannot do harm:

- the connection was never made (nothing was sent), whatever the method;
- the method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE);
- it is a POST carrying an ``Idempotency-Key`` that the service honours.

Timeouts, broken connections and 5xx answers count as failures against the
instance's breaker, but for 503: an instance that answers 503 is up and says that
what it needs is not (its database, another service), which is true of every
instance alike; opening their breakers would only keep traffic away for a cooldown
after the dependency is back (``make faults``, PostgreSQL restarted). A 503 is still
retried elsewhere where safe. With no instance left to try the client gets 503 with
Retry-After.
"""

from collections.abc import Mapping

from litcomp.gateway import headers
from litcomp.gateway.messages import Request, Response, error
from litcomp.gateway.routes import Route
from litcomp.gateway.upstream import ConnectFailed, Dropped, Pool, TimedOut, encode_request
from litcomp.kit.balancer import Endpoint
from litcomp.kit.upstreams import Upstreams

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retry_is_safe(method: str, idempotency_key: str | None) -> bool:
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and bool(idempotency_key)


def no_instance(route: Route) -> Response:
    return error(
        503, "unavailable", f"no {route.service} instance is available", **{"Retry-After": "1"}
    )


class Proxy:
    def __init__(
        self, pool: Pool, upstreams: Mapping[str, Upstreams], timeouts: Mapping[str, float]
    ) -> None:
        self.pool = pool
        self.upstreams = upstreams
        self.timeouts = timeouts

    def outgoing_headers(self, request: Request, request_id: str) -> str:
        return headers.upstream_request(
            request.headers,
            client_ip=request.client_ip,
            scheme="http",
            host=request.header("host") or "",
            request_id=request_id,
        )

    async def forward(self, request: Request, route: Route, request_id: str) -> Response:
        pool = self.upstreams[route.service]
        outgoing = self.outgoing_headers(request, request_id)
        may_retry = retry_is_safe(request.method, request.header("idempotency-key"))
        timeout = self.timeouts[route.prefix]
        failure: Response | None = None
        # Upstreams.attempts() spelled out: as a generator it cost 2% more instructions
        # per proxied request (bench/gateway_instructions.py), and this is the hot path.
        tried: list[Endpoint] = []
        for _ in range(2):
            endpoint = pool.choose(tried)
            if endpoint is None:
                break
            tried.append(endpoint)
            instance = endpoint.instance
            data = encode_request(
                request.method,
                request.target,
                f"{instance.host}:{instance.http_port}",
                outgoing,
                request.body,
            )
            with pool.track(endpoint):
                try:
                    answer = await self.pool.exchange(
                        instance.host,
                        instance.http_port,
                        data,
                        within=timeout,
                        head=request.method == "HEAD",
                    )
                except ConnectFailed as exc:
                    pool.failed(endpoint, str(exc))
                    continue  # nothing was sent: any method may go elsewhere
                except TimedOut as exc:
                    pool.failed(endpoint, str(exc))
                    failure = error(
                        504, "upstream_timeout", f"{route.service} did not answer in time"
                    )
                except Dropped as exc:
                    pool.failed(endpoint, str(exc))
                    failure = error(502, "bad_gateway", f"{route.service} dropped the request")
                else:
                    response = Response(
                        answer.status, headers.client_response(answer.headers), answer.body
                    )
                    if answer.status < 500:
                        pool.succeeded(endpoint)
                        return response
                    if answer.status != 503:  # 503: up, but its dependency is not
                        pool.failed(endpoint, f"HTTP {answer.status}")
                    failure = response
            if not may_retry:
                return failure or no_instance(route)
        return failure or no_instance(route)
