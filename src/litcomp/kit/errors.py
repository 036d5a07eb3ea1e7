"""Domain errors, raised by service code and turned into HTTP/gRPC answers at the edge.

Every error a client can see has a stable machine-readable ``code``, a human
``message`` and optional ``details``; the edge adapters (``kit.http``) decide the
status from the class alone, so service code never thinks in status codes.
"""

from typing import Any

# The largest request body any litcomp endpoint accepts, at the gateway and in every
# service: a larger one is answered 413 (``PayloadTooLarge``).
MAX_BODY_BYTES = 1024 * 1024


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


class Invalid(AppError):
    status = 422
    code = "validation_failed"


class Unavailable(AppError):
    """A dependency (database, another service) cannot answer right now."""

    status = 503
    code = "unavailable"
