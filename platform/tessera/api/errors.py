"""The API's one error shape, and the handlers that turn every failure into it.

Every error under ``/api/v1`` — ours, the records service's, Flask's own 404/405/413,
malformed JSON — is answered as::

    {"error": {"code": "not_found", "message": "...", "fields": {"path": ["..."]}}}

with optional extras: ``details`` (a stale-version conflict: who changed the record
and when) and ``rows`` (bulk create: errors by row index). ``fields`` is always
present (``{}`` when no single part of the request is to blame).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from tessera.errors import RecordError, UnknownApp

PREFIX = "/api/v1"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    500: "internal_error",
}


class ApiError(Exception):
    """A refusal raised by the API layer itself (auth, body, parameters)."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, list[str]] | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


def bad_request(message: str, where: str, problem: str | None = None) -> ApiError:
    """A 400 naming the offending request part ``where``."""
    return ApiError(400, message, {where: [problem or message]})


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response keeping key order and non-ASCII text as is."""
    text = json.dumps(body, ensure_ascii=False, default=_default)
    return current_app.response_class(
        text, status=status, headers=headers, mimetype="application/json"
    )


def error_response(
    status: int,
    message: str,
    fields: dict | None = None,
    *,
    code: str | None = None,
    headers: dict | None = None,
    **extra: Any,
) -> Response:
    """The error shape as a response."""
    error = {"code": code or CODES.get(status, "error"), "message": message}
    error["fields"] = fields or {}
    error.update({k: v for k, v in extra.items() if v is not None})
    return json_response({"error": error}, status, headers)


def from_api_error(exc: ApiError) -> Response:
    """Handler for :class:`ApiError`."""
    return error_response(exc.status, exc.message, exc.fields, code=exc.code, headers=exc.headers)


def from_record_error(exc: RecordError) -> Response:
    """Handler for the records and query services' refusals (status and code are theirs)."""
    return error_response(
        exc.status,
        exc.message,
        exc.fields,
        code=exc.code,
        details=getattr(exc, "details", None),
        rows=getattr(exc, "rows", None),
    )


def from_unknown_app(exc: UnknownApp) -> Response:
    """An app uninstalled between lookups is simply not found."""
    return error_response(404, str(exc))


def from_http(exc: HTTPException) -> Response:
    """Flask/Werkzeug's own errors (404, 405, 413...) in our shape."""
    status = exc.code or 500
    headers = {}
    message = _http_message(exc, status)
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(status, message, headers=headers)


def _http_message(exc: HTTPException, status: int) -> str:
    if status == 404:
        return f"no API endpoint {request.path}; the routes are listed in {PREFIX}/openapi.json"
    if status == 405:
        allowed = ", ".join(getattr(exc, "valid_methods", None) or [])
        return f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"request body too large: the limit is {limit} bytes; split the request"
    return exc.description or exc.name


def from_unexpected(exc: Exception) -> Response:
    """Last resort: database range errors are the client's; anything else is ours."""
    if isinstance(exc, sa.exc.DataError | OverflowError):
        # e.g. an integer beyond 64 bits reaching the database: bad input, not a crash
        return error_response(400, "a value in the request is out of range for the database")
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "unexpected server error; it has been logged")


def routing_errors() -> Response | None:
    """Answer unmatched /api/v1 URLs and methods in the API shape (runs before dispatch)."""
    exc = request.routing_exception
    if exc is None or not _under_api(request.path):
        return None
    if isinstance(exc, HTTPException) and (exc.code or 0) >= 400:
        return from_http(exc)
    return None


def _under_api(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def install(bp: Blueprint) -> None:
    """Register every handler on the API blueprint."""
    bp.register_error_handler(ApiError, from_api_error)
    bp.register_error_handler(RecordError, from_record_error)
    bp.register_error_handler(UnknownApp, from_unknown_app)
    bp.register_error_handler(HTTPException, from_http)
    bp.register_error_handler(Exception, from_unexpected)
    # Routing failures never reach a blueprint's handlers, so catch them app-wide
    # before dispatch, for /api/v1 paths only.
    bp.before_app_request(routing_errors)
