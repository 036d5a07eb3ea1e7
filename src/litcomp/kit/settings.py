"""Configuration from ``LITCOMP_*`` environment variables, validated once at start.

Each service declares one settings class deriving from ``BaseServiceSettings``
and loads it with ``load_settings``; a bad value stops the process with a message
naming the variable, instead of failing later in some request.
"""

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound="BaseServiceSettings")

ENV_PREFIX = "LITCOMP_"


class SettingsError(SystemExit):
    """Raised (and so exits) when the environment holds a bad setting."""


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    var_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    host: str = Field("127.0.0.1", description="the address servers bind")
    advertise_host: str | None = Field(
        None, description="the address others reach this instance at (default: host)"
    )
    discovery_url: str = "http://127.0.0.1:8500"
    discovery_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="how long an instance missing from discovery's list is still called",
    )
    redis_url: str | None = None
    redis_prefix: str = Field(
        default="litcomp", pattern=r"^[A-Za-z0-9:_-]{1,64}$", description="start of every key"
    )
    balancer: Literal["round_robin", "least_load"] = Field(
        "least_load", description="how calls to other services pick an instance"
    )
    jwt_issuer: str = "litcomp-users"
    grpc_timeout_seconds: float = Field(3.0, gt=0, le=60)
    suspensions_refresh_seconds: float = Field(
        10.0,
        gt=0,
        le=50,
        description="how often an instance reloads who is suspended: a suspended user's "
        "tokens stop working everywhere within this (the issue asks for a minute)",
    )
    instance_restarts: int = Field(
        0,
        ge=0,
        description="how often a supervisor (litcomp up) has restarted this instance; "
        "registered with discovery and shown on the gateway's status page",
    )

    @property
    def public_host(self) -> str:
        """The host this instance registers with discovery.

        Bound to every interface, it is this machine's address, not its name: callers
        then look nothing up per connection, and a dead replica cannot hold them up
        (on Compose a killed container's name took 10 s to fail to resolve, and
        uvloop's lookups share a small thread pool: lookups of the live replicas
        waited behind it, make faults-compose)."""
        if self.advertise_host:
            return self.advertise_host
        if self.host not in ("0.0.0.0", "::"):
            return self.host
        name = socket.gethostname()
        try:
            return socket.gethostbyname(name)
        except OSError:
            return name

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver we ship with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
        return url
    raise ValueError("must be a postgresql:// or sqlite:/// URL")


DatabaseUrl = Annotated[str, AfterValidator(normalise_database_url)]


def in_var_dir(file_name: str) -> Callable[[dict[str, Any]], Path]:
    """A default for a path setting: the file in ``LITCOMP_VAR_DIR``."""
    return lambda settings: Path(settings["var_dir"]) / file_name


def embedded_database(name: str) -> Callable[[dict[str, Any]], str]:
    """A default for a database URL setting: an SQLite file in ``LITCOMP_VAR_DIR``."""
    return lambda settings: f"sqlite+aiosqlite:///{Path(settings['var_dir']) / name}.db"


def load_settings(cls: type[S]) -> S:
    try:
        return cls()
    except ValidationError as exc:
        # A default computed from another setting is not tried when that one is bad.
        errors = [e for e in exc.errors() if e["type"] != "default_factory_not_called"]
        lines = [f"invalid litcomp settings ({len(errors)}):"]
        for error in errors:
            field = ".".join(str(part) for part in error["loc"])
            lines.append(f"  {ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
