"""The per-request decision: ``Dispatcher.handle`` answers every client request.

In order: a request id (kept from ``X-Request-ID`` when sane), the client (through
trusted proxies only: clients.py), the rate limit (every request but ``/health``,
whatever its route: the gateway's own pages, WebSocket upgrades and targets refused as
malformed too), then the gateway's own endpoints (operator ones only for operators:
operators.py) or the forwarding (forwarding.py); it logs one line and counts the
request. Everything is decided on the target as client_protocol.py normalised it
(target.py), which is what is forwarded. The client side (client_protocol.py) and the
instance side (pool.py) are asyncio
protocols over httptools rather than a web framework: the gateway sits on every
request's path, and bench/README.md shows what that saves. This module is compiled
with mypyc where it can be (setup.py).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from urllib.parse import quote

from litcomp.gateway import docs, openapi, operators, pages, sitemap, web
from litcomp.gateway.client_protocol import Pipe
from litcomp.gateway.clients import Networks, TrustedProxies
from litcomp.gateway.forwarding import Forwarder, Reply, no_instance
from litcomp.gateway.heads import Head, Heads
from litcomp.gateway.messages import Request, Response, error, json_response
from litcomp.gateway.operators import Operators, users_public_keys
from litcomp.gateway.pool import CONNECT_SECONDS
from litcomp.gateway.ratelimit import Decision, Limit, Limiter
from litcomp.gateway.routes import Route, match
from litcomp.gateway.settings import GatewaySettings
from litcomp.gateway.status import STATUS_PAGE, snapshot
from litcomp.kit import metrics
from litcomp.kit.auth import TokenVerifier
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.logging import accept_request_id, request_id_var

log = logging.getLogger(__name__)

_AUTH_PATHS = frozenset(
    {
        "/users/login",
        "/users/register",
        # Each mails someone, or sets a password (an argon2 hash): limited like a login.
        "/users/password/reset",
        "/users/password/reset/confirm",
    }
)
_OWN_PATHS = (
    frozenset({"/health", "/metrics", "/status", "/gateway/status", openapi.PATH})
    | docs.PATHS
    | sitemap.PATHS
)


class Dispatcher:
    def __init__(
        self,
        settings: GatewaySettings,
        instances: dict[str, InstanceTable],
        forwarder: Forwarder,
        limiter: Limiter,
        auth_limiter: Limiter | None = None,
    ) -> None:
        """``auth_limiter`` for login and register (``limiter`` if None): see ratelimit.py."""
        self.settings = settings
        self.instances = instances
        self.forwarder = forwarder
        self.limiter = limiter
        self.auth_limiter = limiter if auth_limiter is None else auth_limiter
        self.documents = openapi.Documents(forwarder.pool, instances)
        self.proxies = TrustedProxies(list(settings.gateway_trusted_proxies))
        keys = users_public_keys(
            forwarder.pool, instances["users"], within=settings.gateway_timeout_seconds
        )
        self.operators = Operators(
            Networks(list(settings.gateway_operator_nets)),
            TokenVerifier(keys, issuer=settings.jwt_issuer),
        )
        self._auth_limit = Limit(
            settings.gateway_auth_rate_per_minute / 60, settings.gateway_auth_burst
        )
        self._limit = Limit(settings.gateway_rate_per_second, settings.gateway_rate_burst)
        self.heads = Heads(forwarder.pool, instances, public_url=settings.public_url)
        self.sitemap = sitemap.Sitemap(forwarder.pool, instances["competitions"], self.heads)
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer ``request``: ``reply`` is called once, now or when the instance answers."""
        request_id = accept_request_id(request.header("x-request-id"))
        if self.proxies.active:
            self.proxies.resolve(request)
        route = match(request.path)
        started = time.perf_counter()

        def answered(response: Response) -> None:
            response.headers.append(("x-request-id", request_id))
            self._record(request, route, response.status, time.perf_counter() - started)
            reply(response)

        token = request_id_var.set(request_id)
        try:
            self._answer(request, route, request_id, answered)
        except Exception:
            log.exception("unhandled error")
            answered(error(500, "internal", "something went wrong in the gateway"))
        finally:
            request_id_var.reset(token)

    def _answer(self, request: Request, route: Route | None, request_id: str, reply: Reply) -> None:
        if route is None and request.path == "/health":
            # Not limited: it costs nothing to answer, and a balancer's or orchestrator's
            # probes (frequent, from a few addresses) must never be refused for their rate.
            self._later(self._own(request), reply)
            return
        decision = self._rate_limit(request)
        if isinstance(decision, Decision):
            self._admit(decision, request, route, request_id, reply)
        else:  # shared through Redis: on its answer
            self._later(self._admit_after(decision, request, route, request_id, reply), reply)

    async def _admit_after(
        self,
        decision: Awaitable[Decision],
        request: Request,
        route: Route | None,
        request_id: str,
        reply: Reply,
    ) -> None:
        self._admit(await decision, request, route, request_id, reply)

    def _admit(
        self,
        decision: Decision,
        request: Request,
        route: Route | None,
        request_id: str,
        reply: Reply,
    ) -> None:
        if not decision.allowed:
            reply(too_many(decision))
        elif request.invalid:
            reply(error(400, "bad_request", request.invalid))
        elif route is None:
            self._later(self._own(request), reply)
        elif route.websocket:
            reply(error(400, "bad_request", "this route takes a WebSocket upgrade"))
        elif _names_html(request) and pages.is_navigation(request):
            self._later(self._page(request), reply)  # a browser opening the app's page
        else:
            self.forwarder.forward(request, route, request_id, reply)

    def _later(self, answer: Awaitable[Response | None], reply: Reply) -> None:
        """Run ``answer`` as a task; its response, if it has one, goes to ``reply`` (a
        coroutine that returns None has handed ``reply`` on)."""

        async def run() -> None:
            try:
                response = await answer
            except Exception:
                log.exception("unhandled error")
                response = error(500, "internal", "something went wrong in the gateway")
            if response is not None:
                reply(response)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    async def _own(self, request: Request) -> Response:
        if request.path not in _OWN_PATHS:
            if not request.path.startswith(web.PREFIX) and pages.is_navigation(request, own=True):
                return await self._page(request)  # the browser app's pages
            page = web.answer(request)  # the browser app's files: "/" and "/app/..."
            return page or error(404, "not_found", f"no route for {request.path}")
        if request.method not in ("GET", "HEAD"):
            message = f"{request.path} answers GET and HEAD"
            return error(405, "method_not_allowed", message, Allow="GET, HEAD")
        if request.path in operators.PATHS:
            refused = await self.operators.refusal(request)
            if refused is not None:
                return refused
        if request.path in sitemap.PATHS:
            return await self.sitemap.answer(request.path, request.scheme, request.header("host"))
        if request.path == openapi.PATH:
            return await self.documents.answer(request)
        if request.path in docs.PATHS:
            return docs.answer(request) or error(404, "not_found", f"no route for {request.path}")
        if request.path == "/health":
            return json_response({"status": "ok"})
        if request.path == "/metrics":
            content, media_type = metrics.exposition()
            return Response(200, [("content-type", media_type)], content)
        if request.path == "/gateway/status":
            return json_response(snapshot(self.instances, self.settings.gateway_balancer))
        return Response(200, [("content-type", "text/html; charset=utf-8")], STATUS_PAGE.encode())

    async def _page(self, request: Request) -> Response:
        """The app's page for a browser navigation; 404 (the app says "not found") for
        an address that is none of its pages."""
        url = self.heads.base_url(request.scheme, request.header("host")) + quote(request.path)
        if not pages.is_page(request.path):
            return web.default().page(Head("Page not found").render(url), 404)
        head = await self.heads.head(request.path)
        return web.default().page(head.render(url), 200 if head.found else 404)

    def _rate_limit(self, request: Request) -> Decision | Awaitable[Decision]:
        if request.method == "POST" and request.path in _AUTH_PATHS:
            return self.auth_limiter.check(f"auth:{request.client_ip}", self._auth_limit)
        return self.limiter.check(f"all:{request.client_ip}", self._limit)

    def _record(self, request: Request, route: Route | None, status: int, elapsed: float) -> None:
        label = (
            route.prefix if route else (request.path if request.path in _OWN_PATHS else "unmatched")
        )
        metrics.HTTP.observe(
            "gateway", metrics.method_label(request.method), label, status, elapsed
        )
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    async def tunnel(
        self, request: Request, client: asyncio.Transport
    ) -> asyncio.Transport | Response:
        """Open the instance side of a WebSocket tunnel for ``request``: limited like
        every request, before anything else is looked at."""
        if self.proxies.active:
            self.proxies.resolve(request)
        decision = self._rate_limit(request)
        if not isinstance(decision, Decision):
            decision = await decision
        if not decision.allowed:
            return too_many(decision)
        if request.invalid:
            return error(400, "bad_request", request.invalid)
        route = match(request.path)
        if route is None or not route.websocket:
            return error(404, "not_found", f"no WebSocket route for {request.path}")
        pool = self.instances[route.service]
        endpoint = pool.choose()
        if endpoint is None:
            return no_instance(route)
        instance = endpoint.instance
        endpoint.in_flight += 1

        def closed() -> None:
            endpoint.in_flight -= 1

        port = instance.ws_port or instance.http_port
        try:
            transport, _ = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(
                    lambda: Pipe(client, closed), instance.host, port
                ),
                CONNECT_SECONDS,
            )
        except (OSError, TimeoutError) as exc:
            closed()
            pool.failed(endpoint, f"cannot connect: {exc!r}")
            return error(502, "bad_gateway", f"{route.service} refused the connection")
        pool.succeeded(endpoint)
        request_id = accept_request_id(request.header("x-request-id"))
        upgrade = request.header("upgrade") or "websocket"
        head = (
            f"{request.method} {request.target} HTTP/1.1\r\nhost: {instance.host}:{port}\r\n"
            f"{self.forwarder.outgoing_headers(request, request_id)}"
            f"connection: Upgrade\r\nupgrade: {upgrade}\r\n\r\n"
        )
        transport.write(head.encode("latin-1"))
        log.info(
            "websocket tunnel opened",
            extra={"path": request.path, "upstream": instance.instance_id},
        )
        return transport


def _names_html(request: Request) -> bool:
    """Whether ``request`` may be a browser's navigation (pages.is_navigation says): a GET
    or HEAD whose Accept names text/html. Compiled, so an API request pays two compares
    and a substring test, and no call into pages.py."""
    return (request.method == "GET" or request.method == "HEAD") and "text/html" in request.accept


def too_many(decision: Decision) -> Response:
    return error(
        429,
        "rate_limited",
        "too many requests; slow down",
        **{"Retry-After": decision.retry_after_header},
    )
