"""How an instance is run: what the ``litcomp`` command needs to know of each service.

Every server binds its socket first and learns its port from it, so an instance can
be started on port 0 (any free port) and still register the real port with discovery.
"""

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from litcomp.kit import tracing
from litcomp.kit.db import create_engine, migrate
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
    # No permessage-deflate: it costs ~40 KiB per idle WebSocket (see bench/README.md).
    config = uvicorn.Config(
        app, log_config=None, timeout_graceful_shutdown=10, ws_per_message_deflate=False
    )
    uvicorn.Server(config).run(sockets=[sock])


async def migrate_database(spec: ServiceSpec) -> None:
    if spec.database_url is None or spec.migrations is None:
        return
    engine = create_engine(spec.database_url)
    try:
        await migrate(engine, spec.migrations)
    finally:
        await engine.dispose()
