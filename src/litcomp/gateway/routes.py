"""Which service answers which path. The table is the gateway's whole routing policy."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    websocket: bool = False

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


ROUTES = (
    Route("/users", "users"),
    Route("/competitions", "competitions"),
    Route("/notifications", "competitions"),
    Route("/ws", "competitions", websocket=True),
)


def match(path: str) -> Route | None:
    return next((route for route in ROUTES if route.matches(path)), None)


def timeout_for(route: Route, default: float, overrides: Mapping[str, float]) -> float:
    return overrides.get(route.prefix, default)
