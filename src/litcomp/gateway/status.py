"""What the operator status page shows: every service, its instances, their breakers."""

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from litcomp.kit.instance_table import InstanceTable

STATUS_PAGE = (files("litcomp.gateway") / "status.html").read_text()


def snapshot(instances: Mapping[str, InstanceTable], balancer: str) -> dict[str, Any]:
    return {
        "balancer": balancer,
        "services": {
            name: [
                {
                    "instance_id": e.instance.instance_id,
                    "address": e.instance.http_url,
                    "version": e.instance.version,
                    "restarts": e.instance.restarts,
                    "breaker": e.breaker.state.value,
                    "consecutive_failures": e.breaker.failures,
                    "cooldown_seconds": e.breaker.cooldown,
                    "in_flight": e.in_flight,
                    "reported_load": e.instance.load,
                    "requests": e.requests,
                    "failures": e.failures,
                    "last_error": e.last_error,
                }
                for e in pool.endpoints
            ]
            for name, pool in instances.items()
        },
    }
