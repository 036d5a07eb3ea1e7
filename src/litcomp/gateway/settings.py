from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from litcomp.kit.settings import BaseServiceSettings, load_settings


def _networks(value: object) -> object:
    """``"10.0.0.0/8, ::1"`` as networks (a single address is a network of one); a
    list (from code) as it is. A bad entry is named in the error."""
    if not isinstance(value, str):
        return value
    networks = []
    for part in (part.strip() for part in value.split(",")):
        if part:
            try:
                networks.append(ip_network(part))
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a CIDR network ({exc})") from None
    return networks


# Comma-separated in the environment, parsed once at start: a bad one stops the process.
Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode, BeforeValidator(_networks)]
LOOPBACK: list[IPv4Network | IPv6Network] = [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]


class GatewaySettings(BaseServiceSettings):
    gateway_port: int = Field(default=8000, ge=0, le=65535)
    # least_load: a hung instance holds requests, so it stops getting new ones at once
    # (bench/README.md, make faults); round robin sends it its share until the breaker opens.
    gateway_balancer: Literal["round_robin", "least_load"] = "least_load"
    # The same variable as the users service's (the links in mails): one site, one address.
    public_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#]+(/[^?#]*)?)?$",
        description="the site's address (https://litcomp.example) for canonical links,"
        " link previews and the sitemap; empty: the Host a request names",
    )
    gateway_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="deadline of an upstream call"
    )
    gateway_route_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='per-route deadlines by path prefix, as JSON: {"/competitions": 10}',
    )
    gateway_breaker_failures: int = Field(default=3, ge=1, le=100)
    gateway_breaker_cooldown_seconds: float = Field(default=10.0, gt=0, le=3600)
    gateway_outlier_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="how often instances' error rates are compared (kit.outliers)",
    )
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
    gateway_trusted_proxies: Networks = Field(
        default_factory=list,
        description="peers whose X-Forwarded-For, Forwarded and X-Forwarded-Proto are believed",
    )
    gateway_operator_nets: Networks = Field(
        default_factory=lambda: list(LOOPBACK),
        description="clients that may read /gateway/status and /metrics without an admin token",
    )
    # What one client may hold (gateway/client_protocol.py). Timeouts as nginx's and Envoy's
    # defaults have them: long enough for any real client on a slow link.
    gateway_header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="a request's headers within this of its first byte"
    )
    gateway_body_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="a request's body never this long without a byte"
    )
    gateway_idle_timeout_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="a kept-alive connection idle this long closes"
    )
    # 10,000 connections (each may hold an upstream one too) fit a gateway's memory and
    # file descriptors many times over; 256 per address is 40 browsers behind one NAT at
    # six connections each, and lets no address hold more than 2.6% of the whole.
    gateway_max_connections: int = Field(
        default=10_000, ge=1, description="open client connections in all"
    )
    gateway_max_connections_per_client: int = Field(
        default=256,
        ge=1,
        description="open client connections per client address (TCP peer), trusted proxies aside",
    )


def get_settings() -> GatewaySettings:
    return load_settings(GatewaySettings)
