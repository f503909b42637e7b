"""The one JSON error envelope: {code, status, type, message, errors} for every 4xx/5xx.

Services raise `ApiError` subclasses (no Flask inside services); `register_error_handlers` renders them.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, has_request_context, jsonify, request
from marshmallow import INCLUDE, fields
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from core.api_schema import Schema
from core.db import database_unavailable
from core.request_id import current_request_id

log = logging.getLogger(__name__)

DEFAULT_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    502: "gateway_unavailable",
    503: "service_unavailable",
}

DATABASE_RETRY_AFTER_SECONDS = 5
"""The `Retry-After` of a 503 `database_unavailable` answer."""

INVALID_INPUT = "The request body or parameters are invalid; see `errors` for each field."


class ErrorSchema(Schema):
    """The documented error envelope (the OpenAPI `Error` schema every operation's error answers refer to)."""

    class Meta:
        # Some errors add details next to the envelope (`ticketTypeId`, `bookingStatus`, `gateway`...).
        unknown = INCLUDE

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = fields.String(required=True, metadata={"description": "The HTTP status name"})
    type = fields.String(required=True, metadata={"description": "Machine-readable error type, e.g. `sold_out`"})
    message = fields.String(required=True, metadata={"description": "What went wrong, for a human"})
    errors = fields.Dict(metadata={"description": "Per-location, per-field messages (e.g. `json` -> field)"})
    requestId = fields.String(metadata={"description": "On 5xx answers: the request's `X-Request-ID`, also "
                                                       "in the server's log lines for it"})


class ApiError(Exception):
    """An error a client can act on: HTTP status, machine `type`, human `message`, optional details."""

    status = 400
    type = "bad_request"

    def __init__(self, message: str, *, type: str | None = None, status: int | None = None,
                 errors: dict | None = None, headers: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        if type:
            self.type = type
        if status:
            self.status = status
        self.errors = errors
        self.extra = extra

    def to_dict(self) -> dict:
        """The envelope body for this error."""
        return envelope(self.status, self.type, self.message, self.errors, **self.extra)


class BadRequest(ApiError):
    """400: the request cannot be understood."""

    status, type = 400, "bad_request"


class Unauthorized(ApiError):
    """401: missing or invalid credentials."""

    status, type = 401, "unauthorized"


class Forbidden(ApiError):
    """403: authenticated but not allowed."""

    status, type = 403, "forbidden"


class NotFound(ApiError):
    """404: no such record for this tenant (also for another tenant's record)."""

    status, type = 404, "not_found"


class Conflict(ApiError):
    """409: the request clashes with the current state (sold out, already used, syncing...)."""

    status, type = 409, "conflict"


class Unprocessable(ApiError):
    """422: well-formed but semantically invalid input."""

    status, type = 422, "validation_error"


class GatewayUnavailable(ApiError):
    """502: a payment provider did not answer or failed; nothing was changed."""

    status, type = 502, "gateway_unavailable"


def envelope(code: int, type_: str, message: str, errors: dict | None = None, **extra) -> dict:
    """Build the error body shared by every error response."""
    body = {
        "code": code,
        "status": HTTP_STATUS_CODES.get(code, "Error"),
        "type": type_,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    if code >= 500:
        body["requestId"] = current_request_id()
    body.update(extra)
    return body


def default_type(code: int) -> str:
    """The machine `type` of an HTTP error nobody named: ours, else the status name in snake case."""
    return DEFAULT_TYPES.get(code) or re.sub(r"\W+", "_", HTTP_STATUS_CODES.get(code, "error")).strip("_").lower()


def _http_error(error: HTTPException):
    data = getattr(error, "data", None) or {}
    code = error.code or 500
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or error.description or HTTP_STATUS_CODES.get(code, "Error")
    type_ = data.get("type") or default_type(code)
    if isinstance(error, RequestEntityTooLarge) and has_request_context() and request.max_content_length:
        message = f"The request body may be at most {request.max_content_length:,} bytes."
    if code == 422 and errors and not data.get("message"):
        message = INVALID_INPUT
    if code == 400 and (errors == {"json": ["Invalid JSON body."]} or "decode JSON" in str(error.description)):
        type_, message = "invalid_json", "The request body is not valid JSON."
    response = jsonify(envelope(code, type_, message, errors))
    response.status_code = code
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def api_error_response(error: ApiError):
    """The JSON answer for an ApiError: its envelope, status and headers."""
    response = jsonify(error.to_dict())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def internal_error(error: Exception) -> dict:
    """Log an unexpected exception and return the 500 envelope a client gets for it (no details leak)."""
    log.exception("unhandled error", exc_info=error)
    return envelope(500, "internal_error", "Something went wrong on our side; try again.")


def _unexpected(error: Exception):
    response = jsonify(internal_error(error))
    response.status_code = 500
    return response


def _database_error(error: Exception):
    """503 `database_unavailable` with `Retry-After` when the database is down, unreachable, out of
    connections or locked; any other database error is a 500."""
    if not database_unavailable(error):
        return _unexpected(error)
    log.warning("database unavailable: %s", error, exc_info=error)
    response = jsonify(envelope(503, "database_unavailable", "The database is not available right now; retry "
                                "in a few seconds.", retryAfter=DATABASE_RETRY_AFTER_SECONDS))
    response.status_code = 503
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(app: Flask) -> None:
    """Render ApiError, HTTP errors and unexpected exceptions as the JSON envelope, never HTML."""
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in (OperationalError, InterfaceError, MaxConnectionsExceeded):
        app.register_error_handler(database_error, _database_error)
    app.register_error_handler(Exception, _unexpected)
