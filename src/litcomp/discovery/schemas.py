from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ServiceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
InstanceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9._:\[\]-]+$")]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: ServiceName
    instance_id: InstanceId
    host: Host
    http_port: int = Field(ge=1, le=65535)
    grpc_port: int = Field(0, ge=0, le=65535, description="0 when it serves no gRPC")
    ws_port: int = Field(0, ge=0, le=65535, description="its WebSocket server; 0: none")
    version: str = Field("", max_length=64)
    load: int = Field(0, ge=0, description="requests in flight")
    restarts: int = Field(0, ge=0, description="how often its supervisor restarted it")


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    load: int = Field(0, ge=0, description="requests in flight")


class InstancePublic(BaseModel):
    service: str
    instance_id: str
    host: str
    http_port: int
    grpc_port: int
    ws_port: int
    version: str
    load: int
    restarts: int


class Registered(BaseModel):
    instance: InstancePublic
    ttl_seconds: float
