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
    Route("/moderation", "competitions"),
    # Competitions answers every type of search: writers it asks of users (gRPC).
    Route("/search", "competitions"),
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


# The operations whose service honours an ``Idempotency-Key`` (kit.idempotency): a
# repeat with the key gets the first answer and creates nothing, so the gateway may
# retry such a POST on another instance. Anywhere else a key means nothing to the
# service, and a POST once sent is never retried. A unit test holds this table to the
# services' OpenAPI documents (the operations that take the header).
IDEMPOTENCY_KEY_ROUTES = (
    ("POST", "/users/register"),
    ("POST", "/competitions"),
    ("POST", "/competitions/{competition_id}/submit"),
    ("POST", "/competitions/{competition_id}/comment/{submission_id}"),
)
_KEYED = [(method, template.split("/")) for method, template in IDEMPOTENCY_KEY_ROUTES]


def honours_idempotency_key(method: str, path: str) -> bool:
    """Whether ``method`` on ``path`` (no query) is an operation of
    ``IDEMPOTENCY_KEY_ROUTES``; a ``{...}`` segment matches any non-empty one."""
    segments = path.split("/")
    for keyed_method, template in _KEYED:
        if keyed_method == method and len(template) == len(segments):
            for expected, segment in zip(template, segments, strict=True):
                if expected != segment and not (expected.startswith("{") and segment):
                    break
            else:
                return True
    return False
