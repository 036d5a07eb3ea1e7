from pydantic import Field

from litcomp.kit.settings import BaseServiceSettings, DatabaseUrl, embedded_database, load_settings


class CompetitionsSettings(BaseServiceSettings):
    competitions_database_url: DatabaseUrl = Field(
        default_factory=embedded_database("competitions")
    )
    competitions_http_port: int = Field(8002, ge=0, le=65535)
    competitions_grpc_port: int = Field(50052, ge=0, le=65535)
    users_grpc_target: str = "127.0.0.1:50051"
    users_jwks_url: str = "http://127.0.0.1:8001/users/.well-known/jwks.json"


def get_settings() -> CompetitionsSettings:
    return load_settings(CompetitionsSettings)
