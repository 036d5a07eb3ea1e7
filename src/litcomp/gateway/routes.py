"""Which service answers which path. The table is the gateway's whole routing policy."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str  # one path segment: the route takes the prefix and everything below it
    service: str
    websocket: bool = False


ROUTES = (
    Route("/users", "users"),
    Route("/competitions", "competitions"),
    Route("/notifications", "competitions"),
    Route("/ws", "competitions", websocket=True),
)
_BY_PREFIX = {route.prefix: route for route in ROUTES}


def match(path: str) -> Route | None:
    """The route of ``path``, by its first segment: ``/users`` and ``/users/...``
    go to users, ``/usersX`` nowhere."""
    end = path.find("/", 1)
    return _BY_PREFIX.get(path if end == -1 else path[:end])


def timeout_for(route: Route, default: float, overrides: Mapping[str, float]) -> float:
    return overrides.get(route.prefix, default)
