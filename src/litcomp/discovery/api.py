"""HTTP routes of the discovery service."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from litcomp.discovery.registry import Registry
from litcomp.discovery.schemas import (
    Heartbeat,
    InstanceId,
    InstancePublic,
    Registered,
    Registration,
    ServiceName,
)
from litcomp.discovery.settings import DiscoverySettings
from litcomp.kit.balancer import Instance
from litcomp.kit.errors import NotFound
from litcomp.kit.http import error_responses, from_state

RegistryDep = Annotated[Registry, Depends(from_state("registry"))]
SettingsDep = Annotated[DiscoverySettings, Depends(from_state("settings"))]

router = APIRouter(prefix="/discovery", tags=["discovery"])


@router.post("/instances", status_code=status.HTTP_201_CREATED)
async def register(body: Registration, registry: RegistryDep, settings: SettingsDep) -> Registered:
    """Register (or re-register) an instance; it stays listed while it heartbeats."""
    instance = Instance(**body.model_dump())
    await registry.register(instance, settings.discovery_ttl_seconds)
    return Registered(
        instance=InstancePublic(**asdict(instance)), ttl_seconds=settings.discovery_ttl_seconds
    )


@router.put("/instances/{service}/{instance_id}/heartbeat", responses=error_responses(404))
async def heartbeat(
    service: ServiceName,
    instance_id: InstanceId,
    body: Heartbeat,
    registry: RegistryDep,
    settings: SettingsDep,
) -> dict[str, float]:
    """Extend the lease. 404 means discovery has forgotten it: register again."""
    ttl = settings.discovery_ttl_seconds
    if not await registry.heartbeat(service, instance_id, body.load, ttl):
        raise NotFound("no such instance registered; register again", code="not_registered")
    return {"ttl_seconds": ttl}


@router.delete("/instances/{service}/{instance_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deregister(
    service: ServiceName, instance_id: InstanceId, registry: RegistryDep
) -> Response:
    await registry.deregister(service, instance_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/instances")
async def instances(
    registry: RegistryDep, service: ServiceName | None = None
) -> list[InstancePublic]:
    """Live instances of ``service``, or of every service."""
    return [InstancePublic(**asdict(i)) for i in await registry.instances(service)]
