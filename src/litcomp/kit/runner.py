"""How a service is run: what the ``litcomp`` command needs to know of each one."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from litcomp.kit.db import create_engine, migrate
from litcomp.kit.logging import configure_logging
from litcomp.kit.settings import BaseServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings: BaseServiceSettings
    database_url: str
    migrations: Path
    http_port: int
    create_app: Callable[[], FastAPI]


def serve(spec: ServiceSpec) -> None:
    """Serve one instance in the foreground until SIGINT/SIGTERM, then stop gracefully."""
    configure_logging(spec.name, spec.settings.log_level)
    uvicorn.run(
        spec.create_app(),
        host=spec.settings.host,
        port=spec.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


async def migrate_database(spec: ServiceSpec) -> None:
    engine = create_engine(spec.database_url)
    try:
        await migrate(engine, spec.migrations)
    finally:
        await engine.dispose()
