from pydantic import Field

from litcomp.kit.settings import BaseServiceSettings, load_settings


class DiscoverySettings(BaseServiceSettings):
    discovery_port: int = Field(8500, ge=0, le=65535)
    discovery_ttl_seconds: float = Field(10.0, ge=1, le=300)


def get_settings() -> DiscoverySettings:
    return load_settings(DiscoverySettings)
