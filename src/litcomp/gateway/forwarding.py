"""Forwarding one request to one healthy instance, retrying only where it is safe.

A request goes to the instance the balancer picks among those whose breaker admits
it. It is retried once, on another instance, when that cannot do harm:

- the connection was never made (nothing was sent), whatever the method;
- the method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE);
- it carries an ``Idempotency-Key`` and its route honours one
  (``routes.IDEMPOTENCY_KEY_ROUTES``: register, create a competition, submit, comment).

Timeouts and failed or broken connections count as failures against the instance's
breaker. A 5xx answer counts only towards the instance's error rate, which ejects it
only when it stands out from its peers' (``kit.outliers``): one client whose requests
make every instance answer 500 opened every breaker when 5xx counted as failures, and
a 503 (the instance is up, its database or peer is not) is true of every instance
alike (``make faults``, PostgreSQL restarted: opening their breakers kept traffic away
for a cooldown after it was back). A 503 ``overloaded`` (``kit.errors.Overloaded``:
the users instance has more passwords to check than it can in time) counts as an
answer, not even an error: the instance is up and said so at once, and ejecting it
for being busy would only send its load to its peers, busy in turn. A 5xx is still
retried elsewhere where safe. With no instance left to try the client gets 503 with
Retry-After.
"""

import json
import logging
from collections.abc import Callable, Mapping

from litcomp.gateway import headers
from litcomp.gateway.messages import Request, Response, error
from litcomp.gateway.pool import Answer, ConnectFailed, ConnectionPool, TimedOut, encode_request
from litcomp.gateway.routes import Route, honours_idempotency_key
from litcomp.kit.balancer import Endpoint
from litcomp.kit.errors import Overloaded
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.logging import request_id_var

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ATTEMPTS = 2  # the first, and one retry on another instance

Reply = Callable[[Response], None]


def retry_is_safe(method: str, path: str, idempotency_key: str | None) -> bool:
    """Whether the request may be sent again once it may have reached an instance."""
    if method in IDEMPOTENT_METHODS:
        return True
    return bool(idempotency_key) and honours_idempotency_key(method, path)


def no_instance(route: Route) -> Response:
    return error(
        503, "unavailable", f"no {route.service} instance is available", **{"Retry-After": "1"}
    )


def overloaded(answer: Response) -> bool:
    """Whether ``answer`` is an instance refusing work it has too much of: a 503 whose
    error code is ``overloaded``. (Only a 503's body is read, and only a small one.)"""
    if answer.status != 503 or len(answer.body) > 1024:
        return False
    try:
        return bool(json.loads(answer.body)["error"]["code"] == Overloaded.code)
    except (ValueError, TypeError, KeyError):
        return False


class Forwarder:
    def __init__(
        self,
        pool: ConnectionPool,
        instances: Mapping[str, InstanceTable],
        timeouts: Mapping[str, float],
    ) -> None:
        self.pool = pool
        self.instances = instances
        self.timeouts = timeouts

    def outgoing_headers(self, request: Request, request_id: str) -> str:
        return headers.to_instance(
            request.headers,
            client_ip=request.client_ip,
            scheme=request.scheme,
            host=request.header("host") or "",
            request_id=request_id,
        )

    def forward(self, request: Request, route: Route, request_id: str, reply: Reply) -> None:
        """Send ``request`` to an instance of ``route``'s service; ``reply`` is called
        once with the answer for the client, now (nothing to try) or later."""
        _Forwarding(self, request, route, request_id, reply).attempt()


class _Forwarding:
    """One request on its way to an instance and back: up to ``ATTEMPTS``, a different
    instance each (what ``InstanceTable.attempts`` does for awaiting callers, as callbacks:
    see pool.py for why the gateway's hot path takes no coroutine)."""

    __slots__ = (
        "_authority",
        "_failure",
        "_instances",
        "_may_retry",
        "_outgoing",
        "_pool",
        "_reply",
        "_request",
        "_request_id",
        "_route",
        "_timeout",
        "_tried",
    )

    def __init__(
        self, forwarder: Forwarder, request: Request, route: Route, request_id: str, reply: Reply
    ) -> None:
        self._pool = forwarder.pool
        self._instances = forwarder.instances[route.service]
        self._timeout = forwarder.timeouts[route.prefix]
        self._request = request
        self._route = route
        self._request_id = request_id
        self._reply = reply
        self._outgoing = forwarder.outgoing_headers(request, request_id)
        self._may_retry = retry_is_safe(
            request.method, request.path, request.header("idempotency-key")
        )
        self._tried: list[Endpoint] = []
        self._failure: Response | None = None
        self._authority = ""  # host:port of the instance tried last

    def attempt(self) -> None:
        """Send the request to the next instance, or answer if none is left to try."""
        instances = self._instances
        tried = self._tried
        endpoint = instances.choose(tried) if len(tried) < ATTEMPTS else None
        if endpoint is None:
            self._reply(self._failure or no_instance(self._route))
            return
        tried.append(endpoint)
        instances.begin(endpoint)
        instance = endpoint.instance
        request = self._request
        self._authority = f"{instance.host}:{instance.http_port}"
        data = encode_request(
            request.method, request.target, self._authority, self._outgoing, request.body
        )
        head = request.method == "HEAD"
        self._pool.exchange(
            instance.host, instance.http_port, data, self._timeout, self._answered, head=head
        )

    def _answered(self, answer: Answer) -> None:
        # Called from the pool connection's callbacks: the request's own id goes on
        # whatever is logged meanwhile (breaker transitions, the request's line).
        token = request_id_var.set(self._request_id)
        try:
            self._judge(answer)
        except Exception:
            log.exception("unhandled error")
            self._reply(error(500, "internal", "something went wrong in the gateway"))
        finally:
            request_id_var.reset(token)

    def _judge(self, answer: Answer) -> None:
        """Count the attempt's outcome against its instance, then answer or retry."""
        instances = self._instances
        endpoint = self._tried[-1]
        instances.end(endpoint)
        if isinstance(answer, Response):
            kept = headers.to_client(answer.headers, self._authority)
            response = Response(answer.status, kept, answer.body)
            if answer.status < 500:
                instances.succeeded(endpoint)
                self._reply(response)
                return
            if overloaded(answer):
                instances.succeeded(endpoint)  # busy, not broken
            else:
                instances.errored(endpoint, f"HTTP {answer.status}")
            self._failure = response
        else:
            instances.failed(endpoint, str(answer))
            if isinstance(answer, ConnectFailed):
                self.attempt()  # nothing was sent: any method may go elsewhere
                return
            service = self._route.service
            self._failure = (
                error(504, "upstream_timeout", f"{service} did not answer in time")
                if isinstance(answer, TimedOut)
                else error(502, "bad_gateway", f"{service} dropped the request")
            )
        if self._may_retry:
            self.attempt()
        else:
            self._reply(self._failure)
