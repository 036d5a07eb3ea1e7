"""gRPC plumbing shared by the services: a server with health checking and error
mapping, and a client that always sends a deadline and the request id.

Servicers raise ``kit.errors`` exceptions like the HTTP code does; the server
wrapper here turns them into status codes, and the client turns status codes back
into the same exceptions, so a 404 from another service stays a 404 and a service
that is down becomes a 503, never a 500.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from litcomp.kit import metrics
from litcomp.kit.balancer import Endpoint, Instance
from litcomp.kit.db import is_outage
from litcomp.kit.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.logging import (
    REQUEST_ID_HEADER,
    accept_request_id,
    new_request_id,
    request_id_var,
)

log = logging.getLogger(__name__)

Register = Callable[[Any, grpc.aio.Server], None]

# One status code per error class, both ways (BadRequest and Invalid share one; it
# comes back as Invalid).
_STATUS_OF_ERROR: dict[type[AppError], grpc.StatusCode] = {
    BadRequest: grpc.StatusCode.INVALID_ARGUMENT,
    Invalid: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    PayloadTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}
_ERROR_OF_STATUS = {status: error for error, status in _STATUS_OF_ERROR.items()}
# Messages of up to this size (a user's entries can be large), both ways.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_MESSAGE_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


def parse_uuid(value: str, field: str) -> uuid.UUID:
    """An id from a request message; a malformed one is the caller's error."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{field} is not a valid id") from None


# No answer from this instance: a failure against its breaker; the call goes elsewhere.
_UNAVAILABLE_STATUSES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
}
# An error of the instance's own: it counts towards its error rate (kit.outliers), and
# the call goes elsewhere too (every method called is a read or idempotent).
_SERVER_ERROR_STATUSES = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNIMPLEMENTED,
}


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only


class _ServerContext(grpc.aio.ServerInterceptor):
    """Wraps every unary-unary handler: request id in, errors out as status codes."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner: Any = handler.unary_unary  # an async function under grpc.aio
        method = details.method.rsplit("/", 1)[-1]
        incoming = dict(details.invocation_metadata or ()).get(REQUEST_ID_HEADER)

        async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            token = request_id_var.set(accept_request_id(incoming))
            code = grpc.StatusCode.OK
            started = time.perf_counter()
            try:
                return await inner(request, context)
            except AppError as exc:
                code = _STATUS_OF_ERROR[type(exc)]
                await context.abort(code, exc.message)
            except Exception as exc:
                if not is_outage(exc):
                    code = grpc.StatusCode.UNKNOWN
                    log.exception("unhandled error in %s", method)
                    raise
                log.warning("dependency unavailable in %s", method, exc_info=exc)
                code = grpc.StatusCode.UNAVAILABLE
                await context.abort(code, "a dependency is unavailable")
            finally:
                metrics.GRPC_SERVER_CALLS.labels(self.service, method, code.name).inc()
                elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
                log.info(
                    "grpc call",
                    extra={"method": method, "code": code.name, "duration_ms": elapsed_ms},
                )
                request_id_var.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def start_server(
    *, service: str, registrations: Iterable[tuple[Register, Any]], host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    """Start a server with our servicers and the standard health service.

    Returns the server and the port it bound (useful when ``port`` is 0).
    """
    server = grpc.aio.server(interceptors=[_ServerContext(service)], options=_MESSAGE_OPTIONS)
    for register, servicer in registrations:
        register(servicer, server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, bound


class Client:
    """Calls one service's methods on one of its live instances.

    Each call picks an instance through ``instances`` (balancer + breaker), carries a
    deadline and the request id, and reports the outcome to the instance's breaker.
    Every method we call is a read or idempotent (RecordModerationActions, by the
    actions' ids), so a call that finds its instance unavailable is retried once on
    another instance. ``update`` is the discovery watch callback.
    """

    def __init__(
        self, *, stub: Callable[[grpc.aio.Channel], Any], instances: InstanceTable, timeout: float
    ) -> None:
        self.instances = instances
        self.caller = instances.caller
        self.service = instances.service
        self.timeout = timeout
        self._stub_class = stub
        self._channels: dict[str, tuple[str, grpc.aio.Channel, Any]] = {}

    async def update(self, _service: str, listed: list[Instance]) -> None:
        for endpoint in self.instances.update(listed):
            await self._close(endpoint.instance.instance_id)

    async def call(self, name: str, request: Any) -> Any:
        """Call method ``name``, e.g. ``await users.call("GetUsers", request)``."""
        metadata = ((REQUEST_ID_HEADER, request_id_var.get() or new_request_id()),)
        for endpoint in self.instances.attempts():
            method = getattr(self._stub(endpoint), name)
            with self.instances.track(endpoint):
                try:
                    response = await method(request, timeout=self.timeout, metadata=metadata)
                except grpc.aio.AioRpcError as exc:
                    code = exc.code()
                    metrics.GRPC_CLIENT_CALLS.labels(
                        self.caller, self.service, name, code.name
                    ).inc()
                    if code in _UNAVAILABLE_STATUSES:
                        self.instances.failed(endpoint, f"gRPC {code.name}")
                        continue
                    if code in _SERVER_ERROR_STATUSES:
                        self.instances.errored(endpoint, f"gRPC {code.name}")
                        continue
                    self.instances.succeeded(endpoint)  # it answered; the answer is a no
                    raise _error_from(exc) from None
            self.instances.succeeded(endpoint)
            self._count(name, "OK")
            return response
        log.warning("no %s instance could answer %s", self.service, name)
        raise Unavailable(f"the {self.service} service is unavailable; try again shortly")

    def _count(self, method: str, code: str) -> None:
        metrics.GRPC_CLIENT_CALLS.labels(self.caller, self.service, method, code).inc()

    def _stub(self, endpoint: Endpoint) -> Any:
        key, target = endpoint.instance.instance_id, endpoint.instance.grpc_target
        known = self._channels.get(key)
        if known is None or known[0] != target:
            channel = grpc.aio.insecure_channel(target, options=_MESSAGE_OPTIONS)
            known = (target, channel, self._stub_class(channel))
            self._channels[key] = known
        return known[2]

    async def _close(self, instance_id: str) -> None:
        known = self._channels.pop(instance_id, None)
        if known is not None:
            await known[1].close()

    async def close(self) -> None:
        for instance_id in list(self._channels):
            await self._close(instance_id)


def _error_from(exc: grpc.aio.AioRpcError) -> Exception:
    """Our error for a refusal; anything unexpected means the peer is not usable now."""
    code = exc.code()
    error = _ERROR_OF_STATUS.get(code, Unavailable)
    mapped: Exception = error(exc.details() or code.name)
    return mapped
