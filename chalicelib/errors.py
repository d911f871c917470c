"""Domain exceptions. Each carries its HTTP status and error code; they map to HTTP in one place
(`chalicelib.routes.common.route`, which wraps every API view)."""

from __future__ import annotations

from typing import Any


class FailbridgeError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class MalformedRequest(FailbridgeError):
    status, code = 400, "malformed_request"


class Unauthenticated(FailbridgeError):
    status, code = 401, "unauthenticated"


class Forbidden(FailbridgeError):
    status, code = 403, "forbidden"


class NotFound(FailbridgeError):
    status, code = 404, "not_found"


class Conflict(FailbridgeError):
    status, code = 409, "conflict"


class PreconditionFailed(FailbridgeError):
    """An edit based on a version that is no longer the current one (If-Match)."""

    status, code = 412, "precondition_failed"


class Gone(FailbridgeError):
    status, code = 410, "gone"


class PayloadTooLarge(FailbridgeError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(FailbridgeError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(FailbridgeError):
    status, code = 422, "validation_error"


class Unavailable(FailbridgeError):
    status, code = 503, "unavailable"


def field_problem(field: str, problem: str) -> dict[str, str]:
    return {"field": field, "problem": problem}
