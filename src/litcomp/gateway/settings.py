from typing import Literal

from pydantic import Field

from litcomp.kit.settings import BaseServiceSettings, load_settings


class GatewaySettings(BaseServiceSettings):
    gateway_port: int = Field(default=8000, ge=0, le=65535)
    # least_load: a hung instance holds requests, so it stops getting new ones at once
    # (bench/README.md, make faults); round robin sends it its share until the breaker opens.
    gateway_balancer: Literal["round_robin", "least_load"] = "least_load"
    gateway_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="deadline of an upstream call"
    )
    gateway_route_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='per-route deadlines by path prefix, as JSON: {"/competitions": 10}',
    )
    gateway_breaker_failures: int = Field(default=3, ge=1, le=100)
    gateway_breaker_cooldown_seconds: float = Field(default=10.0, gt=0, le=3600)
    gateway_refresh_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often instance lists are re-read"
    )
    gateway_rate_per_second: float = Field(
        default=50.0, gt=0, description="requests per second per client IP, sustained"
    )
    gateway_rate_burst: int = Field(default=200, ge=1, description="requests per client IP at once")
    gateway_auth_rate_per_minute: float = Field(
        default=10.0, gt=0, description="logins and registrations per minute per client IP"
    )
    gateway_auth_burst: int = Field(default=10, ge=1)


def get_settings() -> GatewaySettings:
    return load_settings(GatewaySettings)
