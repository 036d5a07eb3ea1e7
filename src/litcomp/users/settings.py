from pathlib import Path

from pydantic import Field

from litcomp.kit.settings import (
    BaseServiceSettings,
    DatabaseUrl,
    embedded_database,
    in_var_dir,
    load_settings,
)


class UsersSettings(BaseServiceSettings):
    users_database_url: DatabaseUrl = Field(default_factory=embedded_database("users"))
    users_http_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    users_grpc_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    jwt_private_key_file: Path = Field(default_factory=in_var_dir("jwt-signing-key.pem"))
    jwt_ttl_seconds: int = Field(3600, ge=60, le=30 * 24 * 3600)
    moderation_outbox_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="how often the moderation outbox is looked at (an act is sent at "
        "once; this is for what waited for competitions)",
    )


def get_settings() -> UsersSettings:
    return load_settings(UsersSettings)
