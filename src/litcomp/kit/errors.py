"""Domain errors, raised by service code and turned into HTTP/gRPC answers at the edge.

Every error a client can see has a stable machine-readable ``code``, a human
``message`` and optional ``details``; the edge adapters (``kit.http``) decide the
status from the class alone, so service code never thinks in status codes.
"""

from typing import Any

# The largest request body any litcomp endpoint accepts, at the gateway and in every
# service: a larger one is answered 413 (``PayloadTooLarge``).
MAX_BODY_BYTES = 1024 * 1024
# A profile picture as uploaded (users service: PUT /users/profile/picture).
MAX_PICTURE_BYTES = 2 * 1024 * 1024
# The routes (method, exact path) that take a larger body than MAX_BODY_BYTES: an image
# is not JSON, and is re-encoded small before it is stored. Only these: raising the
# limit for every route would let any of them be sent megabytes of JSON to parse.
LARGER_BODIES = {("PUT", "/users/profile/picture"): MAX_PICTURE_BYTES}


def max_body_bytes(method: str, path: str) -> int:
    """The largest body ``method`` on ``path`` (no query) accepts."""
    return LARGER_BODIES.get((method, path), MAX_BODY_BYTES)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error a litcomp service or the gateway answers, over HTTP or
    a WebSocket's refusal: ``{"error": {"code", "message", "details"}}``."""
    return {"error": {"code": code, "message": message, "details": details}}


class AppError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Invalid(AppError):
    status = 422
    code = "validation_failed"


class Unavailable(AppError):
    """A dependency (database, another service) cannot answer right now."""

    status = 503
    code = "unavailable"
    retry_after = 1  # seconds, for the Retry-After header


class Overloaded(Unavailable):
    """This instance has more of some costly work waiting than it can do in time, and
    says so at once, with how long to wait, rather than answering late. The gateway
    does not count it against the instance (gateway/forwarding.py): busy, not broken."""

    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
