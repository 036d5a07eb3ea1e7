from pydantic import Field

from litcomp.kit.settings import BaseServiceSettings, DatabaseUrl, embedded_database, load_settings


class CompetitionsSettings(BaseServiceSettings):
    competitions_database_url: DatabaseUrl = Field(
        default_factory=embedded_database("competitions")
    )
    competitions_http_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    competitions_grpc_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    competitions_ws_port: int = Field(
        0, ge=0, le=65535, description="the notification WebSocket (/ws); 0: any free port"
    )
    notifications_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often sockets are caught up without Redis"
    )
    finalize_poll_seconds: float = Field(
        default=2.0, gt=0, le=300, description="how often ended competitions are looked for"
    )
    require_verified_email: bool = Field(
        default=False,
        description="entering a competition needs a verified address (the token's claim)",
    )


def get_settings() -> CompetitionsSettings:
    return load_settings(CompetitionsSettings)
