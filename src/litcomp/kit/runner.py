"""How an instance is run: what the ``litcomp`` command needs to know of each service.

Every server binds its socket first and learns its port from it, so an instance can
be started on port 0 (any free port) and still register the real port with discovery.
"""

import gc
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from litcomp.kit import tracing
from litcomp.kit.logging import configure_logging
from litcomp.kit.settings import BaseServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings: BaseServiceSettings
    serve: Callable[[], None]
    """Run one instance in the foreground until SIGINT/SIGTERM, then stop gracefully."""
    database_url: str | None = None
    migrations: Path | None = None


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_asgi(
    name: str, settings: BaseServiceSettings, port: int, create_app: Callable[[int], ASGIApp]
) -> None:
    """Serve the app made by ``create_app(bound_port)`` with uvicorn."""
    configure_logging(name, settings.log_level)
    sock = bind(settings.host, port)
    app = create_app(sock.getsockname()[1])
    tracing.install(name, app)  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    tune_garbage_collector()
    # WebSockets have a server of their own where a service needs them (competitions).
    # No access log: RequestContext logs each request once, with its id (kit.logging).
    config = uvicorn.Config(
        app, log_config=None, access_log=False, timeout_graceful_shutdown=10, ws="none"
    )
    uvicorn.Server(config).run(sockets=[sock])


def tune_garbage_collector() -> None:
    """Young collections every 50,000 allocations (not 700), middle ones every 5 of
    those, full ones only after 1,000 middle ones.

    A replica holding 10,000 sockets has over a million long-lived objects: a full
    collection walks them all (~1 s here), and a big middle one (~0.4 s) follows any
    burst of new connections. With the default thresholds the temporaries of one
    fan-out (~60,000 objects, freed by reference counting a moment later) were caught
    alive by young collections, promoted, and set off such collections every few
    entries. Measured in bench/README.md (fan-out).
    """
    gc.set_threshold(50_000, 5, 1000)
